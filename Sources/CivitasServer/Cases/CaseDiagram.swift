import CivitasCore
import CivitasStore
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// Draws a case type's workflow as SVG: states in rows by their distance from the first, steps as arrows.
enum CaseDiagram {
    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
            .replacingOccurrences(of: "\"", with: "&quot;")
    }

    static func guardText(_ step: CaseTransition, _ type: CaseType) -> String {
        var parts: [String] = []
        if step.guarding.fieldsValid { parts.append("all answers valid") }
        parts += step.guarding.documents.map { "has " + (type.document($0)?.label ?? $0) }
        parts += step.guarding.rules.map { "rule \($0) passes" }
        if let condition = step.guarding.condition { parts.append(condition.source) }
        if step.reasonRequired { parts.append("a reason") }
        return parts.joined(separator: "; ")
    }

    static func svg(_ type: CaseType) -> String {
        // Rank each state by the fewest steps from the first (breadth first); unreachable ones go last.
        var rank: [String: Int] = [type.initialState.key: 0]
        var queue = [type.initialState.key]
        while !queue.isEmpty {
            let state = queue.removeFirst()
            for step in type.transitions(from: state) where rank[step.to] == nil {
                rank[step.to] = rank[state]! + 1
                queue.append(step.to)
            }
        }
        let deepest = (rank.values.max() ?? 0) + 1
        for state in type.states where rank[state.key] == nil { rank[state.key] = deepest }
        var rows: [Int: [CaseState]] = [:]
        for state in type.states { rows[rank[state.key]!, default: []].append(state) }
        let boxWidth = 150.0
        let boxHeight = 40.0
        let gapX = 30.0
        let gapY = 70.0
        let widest = rows.values.map(\.count).max() ?? 1
        let width = Double(widest) * (boxWidth + gapX) + gapX
        let height = Double(rows.count) * (boxHeight + gapY) + gapY
        var position: [String: (x: Double, y: Double)] = [:]
        for (row, states) in rows {
            let offset = (width - Double(states.count) * (boxWidth + gapX) + gapX) / 2
            for (column, state) in states.enumerated() {
                position[state.key] = (offset + Double(column) * (boxWidth + gapX), gapY / 2 + Double(row) * (boxHeight + gapY))
            }
        }
        var out = """
            <svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 \(Int(width)) \(Int(height))" class="diagram" role="img" aria-label="\(escape(type.name)): \(type.states.count) states and \(type.transitions.count) steps, listed below">
            <defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#444"/></marker></defs>
            """
        for step in type.transitions {
            guard let to = position[step.to] else { continue }
            for from in step.from {
                guard let start = position[from], from != step.to else { continue }
                let x1 = start.x + boxWidth / 2
                let y1 = start.y + (to.y > start.y ? boxHeight : to.y < start.y ? 0 : boxHeight / 2)
                let x2 = to.x + boxWidth / 2
                let y2 = to.y + (to.y > start.y ? 0 : to.y < start.y ? boxHeight : boxHeight / 2)
                let bend = to.y <= start.y ? 60.0 : 0
                out +=
                    "<path d=\"M \(x1) \(y1) Q \((x1 + x2) / 2 + bend) \((y1 + y2) / 2) \(x2) \(y2)\" fill=\"none\" stroke=\"#444\" stroke-width=\"1.5\" marker-end=\"url(#arrow)\"><title>\(escape(step.label))</title></path>"
                out +=
                    "<text x=\"\((x1 + x2) / 2 + bend / 2 + 4)\" y=\"\((y1 + y2) / 2)\" font-size=\"11\" fill=\"#222\">\(escape(String(step.label.prefix(28))))</text>"
            }
        }
        for state in type.states {
            guard let at = position[state.key] else { continue }
            let fill = state.final ? "#e6f0e6" : state.waitingOnApplicant ? "#fff4d6" : state.key == type.initialState.key ? "#e8eef8" : "#ffffff"
            out +=
                "<rect x=\"\(at.x)\" y=\"\(at.y)\" width=\"\(boxWidth)\" height=\"\(boxHeight)\" rx=\"6\" fill=\"\(fill)\" stroke=\"#222\" stroke-width=\"\(state.final ? 2.5 : 1.5)\"/>"
            out +=
                "<text x=\"\(at.x + boxWidth / 2)\" y=\"\(at.y + 17)\" text-anchor=\"middle\" font-size=\"13\" fill=\"#111\">\(escape(String(state.label.prefix(22))))</text>"
            if let level = state.serviceLevel {
                out +=
                    "<text x=\"\(at.x + boxWidth / 2)\" y=\"\(at.y + 32)\" text-anchor=\"middle\" font-size=\"10\" fill=\"#333\">SLA \(escape(level.description))</text>"
            }
        }
        return out + "</svg>"
    }
}
