import CivitasCore
import Foundation
import SQLKit

/// Timer automations ("after 14 days waiting on the applicant, remind"), each fired once per stay in a state.
extension CaseStore {
    // MARK: Timers

    /// Runs the timer automations that are due ("after 14 days waiting on the applicant"), each once per stay in a
    /// state, even with several processes sweeping at once. Returns how many fired.
    @discardableResult
    public func sweep(jurisdictionID: String, now: Date = Date()) async throws -> Int {
        var fired = 0
        for caseType in try await types(jurisdictionID: jurisdictionID) {
            let timed = Set(
                caseType.automations.compactMap { automation -> String? in
                    if case .after(let state, _) = automation.trigger { return state }
                    return nil
                })
            guard !timed.isEmpty else { continue }
            let rows = try await database.read { sql in
                try await sql.select().columns("id", "type_version", "state", "state_entered_at").from("cases")
                    .where("jurisdiction_id", .equal, jurisdictionID).where("type_key", .equal, caseType.key)
                    .where("state", .in, Array(timed)).where("closed_at", .is, SQLLiteral.null).orderBy("id").limit(10_000).all()
                    .map { row in
                        (
                            id: try row.decode(column: "id", as: Int64.self), version: try row.decode(column: "type_version", as: Int.self),
                            state: try row.decode(column: "state", as: String.self),
                            entered: Clock.date(try row.decode(column: "state_entered_at", as: Int64.self))
                        )
                    }
            }
            // Only cases with a timer past its time are locked and looked at closely; the rest wait for a later sweep.
            var candidates: [Int64] = []
            for row in rows {
                guard let version = try await type(caseType.key, version: row.version, jurisdictionID: jurisdictionID) else { continue }
                let due = version.automations.contains { automation in
                    guard case .after(let state, let level) = automation.trigger, state == row.state else { return false }
                    return version.calendar.deadline(level, from: row.entered) <= now
                }
                if due { candidates.append(row.id) }
            }
            for id in candidates {
                fired += try await database.transaction { [self] sql -> Int in
                    let current = try await lock(id, jurisdictionID: jurisdictionID, sql: sql)
                    guard let version = try await type(current.typeKey, version: current.typeVersion, jurisdictionID: jurisdictionID) else {
                        return 0
                    }
                    let already = Set(
                        try await sql.select().column("automation").from("case_timers_fired").where("case_id", .equal, id)
                            .where("state_entered_at", .equal, Clock.millis(current.stateEnteredAt)).all().map {
                                try $0.decode(column: "automation", as: String.self)
                            })
                    var snapshot = CaseSnapshot(
                        state: current.state, queue: current.queue, data: current.data, documents: try await Self.documentTypes(id, sql: sql),
                        stateEnteredAt: current.stateEnteredAt)
                    var count = 0
                    for automation in version.dueTimers(snapshot, now: now, fired: already) {
                        try await sql.insert(into: "case_timers_fired").columns("case_id", "automation", "state_entered_at")
                            .values(SQLBind(id), SQLBind(automation.name), SQLBind(Clock.millis(snapshot.stateEnteredAt))).run()
                        let before = snapshot
                        let (next, effects) = version.fire(automation, on: snapshot, now: now)
                        var record = current
                        record.state = before.state
                        record.queue = before.queue
                        try await apply(
                            effects, to: record, next: next, type: version, requested: [],
                            by: CaseCaller(actor: .automatic, name: "automation: \(automation.name)"), now: now, sql: sql)
                        snapshot = next
                        count += 1
                        if next.state != before.state { break }
                    }
                    return count
                }
            }
        }
        return fired
    }
}
