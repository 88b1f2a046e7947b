import CivitasCore
import Foundation
import Yams

/// The document served at `/api/v1/openapi.json`, written in parts under `Resources/openapi/`, one per capability.
/// `api.yaml` holds what the whole API shares (`openapi`, `info`, `servers`, security schemes, error responses) and is
/// read first; every other part, in name order, adds its `tags`, `paths` and `components`. A path, component or tag
/// named by two parts is refused, so one capability's part cannot silently replace another's.
enum OpenAPIDocument {
    static let base = "api.yaml"

    /// Where the parts are in the build.
    static var folder: URL? { Bundle.module.url(forResource: "openapi", withExtension: nil, subdirectory: "Resources") }

    /// The assembled document, read and joined once per process however many routers are built (tests build many).
    static let assembled = Result { try load() }

    /// The assembled document as JSON, keys sorted.
    static func load() throws -> Data {
        guard let folder, let names = try? FileManager.default.contentsOfDirectory(atPath: folder.path) else {
            throw CivitasError(.unavailable, code: "openapi_missing", message: "The OpenAPI document is missing from the build.")
        }
        let parts = try names.filter { $0.hasSuffix(".yaml") }.map { name in
            (name: name, text: try String(contentsOf: folder.appendingPathComponent(name), encoding: .utf8))
        }
        let document = try assemble(parts)
        return try JSONSerialization.data(withJSONObject: document, options: [.sortedKeys, .withoutEscapingSlashes])
    }

    /// Joins the parts by the rule above; a part that breaks it is named in the error.
    static func assemble(_ parts: [(name: String, text: String)]) throws -> [String: Any] {
        func refuse(_ message: String) -> CivitasError {
            CivitasError(.unavailable, code: "openapi_invalid", message: "The OpenAPI document cannot be assembled: \(message).")
        }
        guard parts.contains(where: { $0.name == base }) else { throw refuse("\(base) is missing") }
        let ordered = parts.filter { $0.name == base } + parts.filter { $0.name != base }.sorted { $0.name < $1.name }
        var document: [String: Any] = [:]
        var paths: [String: Any] = [:]
        var components: [String: [String: Any]] = [:]
        var tags: [Any] = []
        var tagNames: Set<String> = []
        for part in ordered {
            let loaded: Any?
            do {
                loaded = try Yams.load(yaml: part.text)
            } catch {
                throw refuse("\(part.name) is not valid YAML (\(error))")
            }
            guard let object = try jsonObject(loaded, in: part.name) as? [String: Any] else { throw refuse("\(part.name) is not a mapping") }
            for (key, value) in object {
                switch key {
                case "paths":
                    guard let more = value as? [String: Any] else { throw refuse("paths in \(part.name) is not a mapping") }
                    for (path, item) in more {
                        guard paths[path] == nil else { throw refuse("the path \(path) is in more than one part (again in \(part.name))") }
                        paths[path] = item
                    }
                case "components":
                    guard let kinds = value as? [String: Any] else { throw refuse("components in \(part.name) is not a mapping") }
                    for (kind, entries) in kinds {
                        guard let entries = entries as? [String: Any] else { throw refuse("components.\(kind) in \(part.name) is not a mapping") }
                        for (name, entry) in entries {
                            guard components[kind, default: [:]][name] == nil else {
                                throw refuse("components.\(kind).\(name) is in more than one part (again in \(part.name))")
                            }
                            components[kind, default: [:]][name] = entry
                        }
                    }
                case "tags":
                    guard let list = value as? [Any] else { throw refuse("tags in \(part.name) is not a list") }
                    for tag in list {
                        guard let name = (tag as? [String: Any])?["name"] as? String, tagNames.insert(name).inserted else {
                            throw refuse("a tag in \(part.name) has no name or is declared twice")
                        }
                        tags.append(tag)
                    }
                default:
                    guard part.name == base else { throw refuse("\(part.name) sets \(key), which only \(base) may set") }
                    document[key] = value
                }
            }
        }
        guard document["openapi"] != nil, document["info"] != nil else { throw refuse("\(base) has no openapi or info") }
        document["paths"] = paths
        document["components"] = components
        document["tags"] = tags
        return document
    }

    /// What Yams read, as JSONSerialization takes it: string keys only, `null` as NSNull.
    static func jsonObject(_ value: Any?, in part: String) throws -> Any {
        switch value {
        case nil: return NSNull()
        case let mapping as [AnyHashable: Any]:
            var out: [String: Any] = [:]
            for (key, item) in mapping {
                guard let key = key.base as? String else {
                    throw CivitasError(
                        .unavailable, code: "openapi_invalid", message: "The OpenAPI part \(part) has a key that is not text: \(key).")
                }
                out[key] = try jsonObject(item, in: part)
            }
            return out
        case let list as [Any]: return try list.map { try jsonObject($0, in: part) }
        case let scalar as Date:
            throw CivitasError(.unavailable, code: "openapi_invalid", message: "The OpenAPI part \(part) has an unquoted date: \(scalar).")
        case let value?: return value
        }
    }
}
