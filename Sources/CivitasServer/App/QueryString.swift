import Hummingbird

/// A request's query string, read as `application/x-www-form-urlencoded` (a `+` is a space, as browsers send a
/// form's GET): the one reader every page and API uses. Text that is not valid (a NUL, bad UTF-8) is refused with 400
/// before any route runs, so here it reads as an empty query.
struct QueryString: Sendable, Sequence {
    let pairs: [(key: String, value: String)]

    init(_ query: String?) {
        pairs = ((try? FormBody.urlEncoded(query ?? "")) ?? []).map { (key: $0.0, value: $0.1) }
    }

    /// The first value given for `name`.
    func get(_ name: String) -> String? { pairs.first { $0.key == name }?.value }

    subscript(_ name: String) -> String? { self.get(name) }

    /// Every value given for `name`, in order.
    func all(_ name: String) -> [String] { pairs.filter { $0.key == name }.map(\.value) }

    func makeIterator() -> IndexingIterator<[(key: String, value: String)]> { pairs.makeIterator() }
}

extension Request {
    /// The query string, decoded once per call; see `QueryString`.
    var query: QueryString { QueryString(uri.query) }
}
