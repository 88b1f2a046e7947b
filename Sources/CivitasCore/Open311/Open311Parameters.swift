/// The parameters of an Open311 call, from the query string and the body together, as clients really send them:
/// empty values count as absent, names may repeat, and attributes come as `attribute[code]`,
/// `attribute[code][]` or `attribute[code][N]`.
public struct Open311Parameters: Sendable, Equatable {
    private var values: [String: [String]] = [:]
    /// Attribute answers by attribute code, in the order they arrived.
    public private(set) var attributes: [String: [String]] = [:]

    public init(_ pairs: [(String, String)]) {
        var indexed: [String: [(Int, String)]] = [:]
        for (name, value) in pairs {
            guard !value.isEmpty else { continue }
            if let (code, position) = Self.attributeName(name) {
                indexed[code, default: []].append((position ?? Int.max, value))
            } else {
                values[name, default: []].append(value)
            }
        }
        for (code, entries) in indexed {
            // A stable sort keeps the arrival order of `[]` and repeated keys; `[N]` orders explicitly.
            let sorted = entries.enumerated().sorted { ($0.element.0, $0.offset) < ($1.element.0, $1.offset) }
            attributes[code] = sorted.map(\.element.1)
        }
    }

    /// The first non-empty value of a parameter.
    public subscript(_ name: String) -> String? { values[name]?.first }

    /// Every non-empty value of a parameter, split on commas (Open311 list arguments).
    public func list(_ name: String) -> [String] {
        (values[name] ?? []).flatMap { $0.split(separator: ",") }.map { $0.trimmingWhitespace() }.filter { !$0.isEmpty }
    }

    /// `attribute[code]`, `attribute[code][]`, `attribute[code][3]` → (`code`, position if numbered).
    private static func attributeName(_ name: String) -> (String, Int?)? {
        guard name.hasPrefix("attribute["), let close = name.firstIndex(of: "]") else { return nil }
        let code = String(name[name.index(name.startIndex, offsetBy: 10)..<close])
        guard !code.isEmpty else { return nil }
        let rest = name[name.index(after: close)...]
        if rest.isEmpty || rest == "[]" { return (code, nil) }
        guard rest.hasPrefix("["), rest.hasSuffix("]"), let position = Int(rest.dropFirst().dropLast()) else { return nil }
        return (code, position)
    }
}

extension StringProtocol {
    func trimmingWhitespace() -> String {
        var slice = Substring(self)
        while let first = slice.first, first.isWhitespace { slice.removeFirst() }
        while let last = slice.last, last.isWhitespace { slice.removeLast() }
        return String(slice)
    }
}
