import CivitasCore
import Foundation
import SQLKit

/// The service catalog of each jurisdiction.
public struct ServiceStore: Sendable {
    let database: Database
    public init(database: Database) { self.database = database }

    /// What an import did.
    public struct ImportResult: Sendable, Equatable {
        public var created: [String]
        public var updated: [String]
    }

    /// Creates or updates services by `service_code`, all in one transaction.
    public func upsert(_ services: [ServiceDefinition], jurisdictionID: String, actor: String = "cli", now: Date = Date()) async throws
        -> ImportResult
    {
        try await database.transaction { sql in
            let existing = Set(
                try await sql.select().column("service_code").from("services")
                    .where("jurisdiction_id", .equal, jurisdictionID).all()
                    .map { try $0.decode(column: "service_code", as: String.self) })
            var result = ImportResult(created: [], updated: [])
            let stamp = Clock.millis(now)
            for service in services {
                let attributes = String(decoding: try Self.encoder.encode(service.attributes), as: UTF8.self)
                let translations = String(
                    decoding: try Self.encoder.encode(
                        Dictionary(uniqueKeysWithValues: service.translations.map { ($0.key.rawValue, $0.value) })), as: UTF8.self)
                try await sql.insert(into: "services")
                    .columns(
                        "jurisdiction_id", "service_code", "service_name", "description", "type", "keywords",
                        "group_name", "department", "sla_hours", "attributes", "translations", "created_at", "updated_at"
                    )
                    .values(
                        SQLBind(jurisdictionID), SQLBind(service.code), SQLBind(service.name),
                        SQLBind(service.description), SQLBind(service.type.rawValue),
                        SQLBind(service.keywords.joined(separator: ",")), SQLBind(service.group),
                        SQLBind(service.department), SQLBind(service.slaHours), SQLBind(attributes), SQLBind(translations),
                        SQLBind(stamp), SQLBind(stamp)
                    )
                    .onConflict(with: ["jurisdiction_id", "service_code"]) { update in
                        update.set(excludedValueOf: "service_name").set(excludedValueOf: "description")
                            .set(excludedValueOf: "type").set(excludedValueOf: "keywords")
                            .set(excludedValueOf: "group_name").set(excludedValueOf: "department")
                            .set(excludedValueOf: "sla_hours").set(excludedValueOf: "attributes").set(excludedValueOf: "translations")
                            .set(excludedValueOf: "updated_at")
                    }
                    .run()
                let updated = existing.contains(service.code)
                if updated {
                    result.updated.append(service.code)
                } else {
                    result.created.append(service.code)
                }
                try await AuditStore.append(
                    AuditEvent(
                        actor: actor, action: updated ? "service.update" : "service.create", subject: "service:\(service.code)"),
                    jurisdictionID: jurisdictionID, at: now, sql: sql)
            }
            return result
        }
    }

    /// Every service of a jurisdiction, by group and then name.
    public func all(jurisdictionID: String) async throws -> [ServiceDefinition] {
        try await database.read { sql in
            try await sql.select().columns(Self.columns).from("services")
                .where("jurisdiction_id", .equal, jurisdictionID)
                .all().map(Self.decode)
                // Sorted here, not in SQL: SQLite and PostgreSQL collate text differently.
                .sorted { ($0.group, $0.name, $0.code) < ($1.group, $1.name, $1.code) }
        }
    }

    public func find(code: String, jurisdictionID: String) async throws -> ServiceDefinition? {
        try await database.read { sql in
            try await sql.select().columns(Self.columns).from("services")
                .where("jurisdiction_id", .equal, jurisdictionID).where("service_code", .equal, code)
                .first().map(Self.decode)
        }
    }

    public func count(jurisdictionID: String) async throws -> Int {
        try await database.count("services", jurisdictionID: jurisdictionID)
    }

    static let columns = [
        "service_code", "service_name", "description", "type", "keywords", "group_name", "department", "sla_hours",
        "attributes", "translations",
    ]
    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return encoder
    }()

    static func decode(_ row: any SQLRow) throws -> ServiceDefinition {
        let keywords = try row.decode(column: "keywords", as: String.self)
        let attributes = try JSONDecoder().decode(
            [ServiceAttribute].self, from: Data(try row.decode(column: "attributes", as: String.self).utf8))
        let translations = try JSONDecoder().decode(
            [String: ServiceTranslation].self, from: Data(try row.decode(column: "translations", as: String.self).utf8))
        var service = ServiceDefinition(
            code: try row.decode(column: "service_code", as: String.self),
            name: try row.decode(column: "service_name", as: String.self),
            description: try row.decode(column: "description", as: String.self),
            type: ServiceType(rawValue: try row.decode(column: "type", as: String.self)) ?? .realtime,
            keywords: keywords.split(separator: ",").map(String.init),
            group: try row.decode(column: "group_name", as: String.self), attributes: attributes,
            department: try row.decode(column: "department", as: String?.self),
            slaHours: try row.decode(column: "sla_hours", as: Int?.self))
        for (code, words) in translations { if let language = Language(rawValue: code) { service.translations[language] = words } }
        return service
    }
}
