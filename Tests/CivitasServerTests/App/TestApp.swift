import CivitasCore
import CivitasStore
import Configuration
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Testing

@testable import CivitasServer

#if canImport(FoundationXML)
    import FoundationXML
#endif

/// A Civitas app on a fresh SQLite file with the demo catalog and one API key, driven through its real router.
struct TestApp: Sendable {
    let stores: Stores
    let configuration: AppConfiguration
    let apiKey: String
    let logs: LogCapture
    let folder: URL
    /// Every route the app's controllers declared.
    var routes: [(method: HTTPRequest.Method, path: String)] = []

    static func with<R>(
        config: [AbsoluteConfigKey: ConfigValue] = [:], now: Date? = nil,
        _ body: @escaping @Sendable (TestApp, any TestClientProtocol) async throws -> R
    ) async throws -> R {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("civitas-app-\(UUID().uuidString)")
        var values = config
        // Fast bcrypt and generous limits, unless a test sets its own.
        let defaults: [AbsoluteConfigKey: ConfigValue] = [
            "auth.bcryptCost": .init(.int(4), isSecret: false),
            "rateLimit.signInPerMinute": .init(.int(100_000), isSecret: false),
            "rateLimit.submissionsPerMinute": .init(.int(100_000), isSecret: false),
            "rateLimit.apiPerMinute": .init(.int(100_000), isSecret: false),
        ]
        for (key, value) in defaults where values[key] == nil { values[key] = value }
        values["database.url"] = .init(.string("sqlite:" + folder.appendingPathComponent("civitas.sqlite").path), isSecret: false)
        values["jurisdiction.id"] = .init(.string("test.city"), isSecret: false)
        values["jurisdiction.timeZone"] = .init(.string("America/New_York"), isSecret: false)
        values["jurisdiction.name"] = .init(.string("Test City"), isSecret: false)
        var configuration = try AppConfiguration(reader: ConfigReader(provider: InMemoryProvider(values: values)))
        if let now { configuration.now = { now } }
        let logs = LogCapture()
        let logger = Logger(label: "civitas-test") { label in logs.handler(label: label) }
        let stores = try await Stores.open(configuration, logger: logger)
        defer { try? FileManager.default.removeItem(at: folder) }
        // Whatever fails from here on, the database is shut down, so the failure is reported rather than crashing the run.
        do {
            _ = try await stores.services.upsert(try DemoCity.catalog(), jurisdictionID: "test.city")
            let (_, key) = try await stores.apiKeys.create(name: "tests", jurisdictionID: "test.city")
            var app = TestApp(stores: stores, configuration: configuration, apiKey: key, logs: logs, folder: folder)
            let router = try await buildRouter(configuration: configuration, stores: stores, logger: logger)
            app.routes = router.declaredRoutes
            let ready = app
            let result = try await Application(router: router, logger: logger).test(.router) { client in
                try await body(ready, client)
            }
            await stores.database.shutdown()
            return result
        } catch {
            await stores.database.shutdown()
            throw error
        }
    }

    /// A valid bulky-item submission, form-encoded, with the app's key.
    func bulkyForm(_ extra: [(String, String)] = [], key: String? = nil) -> [(String, String)] {
        [
            ("api_key", key ?? apiKey), ("service_code", "BULKY"), ("lat", "39.2904"), ("long", "-76.6122"),
            ("address_string", "100 N Charles St"), ("description", "A sofa and a mattress"),
            ("attribute[ITEMS][]", "furniture"), ("attribute[ITEMS][]", "mattress"), ("attribute[COUNT]", "2"),
        ] + extra
    }

    func count() async throws -> Int { try await stores.requests.count(jurisdictionID: "test.city") }
}

/// Encodes pairs as application/x-www-form-urlencoded, brackets escaped the way browsers and clients do.
func formEncode(_ pairs: [(String, String)]) -> String {
    var allowed = CharacterSet.alphanumerics
    allowed.insert(charactersIn: "-._~")
    return pairs.map { name, value in
        name.addingPercentEncoding(withAllowedCharacters: allowed)! + "=" + value.addingPercentEncoding(withAllowedCharacters: allowed)!
    }.joined(separator: "&")
}

extension TestClientProtocol {
    func post(_ uri: String, form pairs: [(String, String)]) async throws -> TestResponse {
        try await execute(
            uri: uri, method: .post, headers: [.contentType: "application/x-www-form-urlencoded"],
            body: ByteBuffer(string: formEncode(pairs)))
    }

    func get(_ uri: String) async throws -> TestResponse {
        try await execute(uri: uri, method: .get)
    }
}

extension TestResponse {
    var text: String { String(buffer: body) }

    func json() throws -> Any { try JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed]) }

    func jsonArray() throws -> [[String: Any]] {
        try #require(try json() as? [[String: Any]], "expected a JSON array of objects: \(text)")
    }

    func xml() throws -> XMLNode { try XMLNode.parse(text) }
}

/// A parsed XML element: just enough DOM to check Open311 documents the way clients read them.
final class XMLNode {
    let name: String
    var children: [XMLNode] = []
    var text = ""
    var attributes: [String: String] = [:]

    init(name: String) { self.name = name }

    func child(_ name: String) -> XMLNode? { children.first { $0.name == name } }
    func all(_ name: String) -> [XMLNode] { children.filter { $0.name == name } }
    subscript(_ name: String) -> String? { child(name)?.text }

    static func parse(_ text: String) throws -> XMLNode {
        let delegate = Builder()
        let parser = XMLParser(data: Data(text.utf8))
        parser.delegate = delegate
        guard parser.parse(), let root = delegate.root else {
            throw TestFailure("not well-formed XML: \(parser.parserError.map { "\($0)" } ?? "?")\n\(text)")
        }
        return root
    }

    final class Builder: NSObject, XMLParserDelegate {
        var stack: [XMLNode] = []
        var root: XMLNode?

        func parser(
            _ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
            attributes: [String: String] = [:]
        ) {
            let node = XMLNode(name: name)
            node.attributes = attributes
            stack.last?.children.append(node)
            stack.append(node)
        }

        func parser(_ parser: XMLParser, foundCharacters string: String) { stack.last?.text += string }

        func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
            let node = stack.removeLast()
            if !node.children.isEmpty { node.text = node.text.trimmingCharacters(in: .whitespacesAndNewlines) }
            if stack.isEmpty { root = node }
        }
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Keeps every log line a test's app writes, so tests can check what is (and is not) logged.
final class LogCapture: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []

    var all: [String] { lock.withLock { lines } }

    func append(_ line: String) { lock.withLock { lines.append(line) } }

    func handler(label: String) -> any LogHandler { Handler(capture: self) }

    struct Handler: LogHandler {
        let capture: LogCapture
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .info
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) {
            let merged = metadata.merging(event.metadata ?? [:]) { $1 }
            capture.append(
                "\(event.level) \(event.message) \(merged.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "))")
        }
    }
}
