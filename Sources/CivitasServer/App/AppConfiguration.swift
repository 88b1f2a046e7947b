import CivitasCore
import CivitasStore
import Configuration
import Foundation
import SystemPackage

/// Everything a Civitas process is told at start, read once from CLI options > environment > `.env` > defaults.
public struct AppConfiguration: Sendable {
    public var host: String
    public var port: Int
    public var database: DatabaseURL
    public var jurisdiction: Jurisdiction
    /// Whether the jurisdiction name and zone came from configuration (the demo city fills them in otherwise).
    public var jurisdictionConfigured: Bool
    /// Largest request body accepted, in bytes (photos included).
    public var maxBodySize: Int
    /// How long a connection may send nothing while a request is being read, or sit idle between requests, before it
    /// is closed: a client holding a half-sent header or body cannot keep it open for ever.
    public var idleTimeoutSeconds: Int
    /// How long a whole request body may take to arrive once its header has (`HTTP_BODY_TIMEOUT_SECONDS`, default 120):
    /// a body trickled a byte at a time is never idle, so it needs a deadline of its own.
    public var bodyTimeoutSeconds: Int
    /// At most this many connections open at once (`HTTP_MAX_CONNECTIONS`, default 10000; lowered to fit the
    /// process's file limit).
    public var maxConnections: Int
    /// At most this many connections from one client address (`HTTP_MAX_CONNECTIONS_PER_CLIENT`, default 256; 0 turns
    /// it off). Off behind a balancer (`HTTP_TRUST_FORWARDED_FOR`), where the balancer is the only peer.
    public var maxConnectionsPerClient: Int
    /// The address residents and clients reach this server at; used in links such as `media_url`.
    public var publicURL: String
    /// How often the batch intake worker looks for queued submissions.
    public var batchInterval: Duration
    /// How often timer automations on cases are checked (`cases.sweepSeconds`, `CASES_SWEEP_SECONDS`).
    public var caseSweepSeconds: Int
    /// The wait before a failed webhook delivery is tried again, doubling each time (`webhooks.retrySeconds`,
    /// `WEBHOOKS_RETRY_SECONDS`, default 30).
    public var webhookRetrySeconds: Int
    /// Whether partners may point webhooks at local or private addresses (`webhooks.allowPrivate`,
    /// `WEBHOOKS_ALLOW_PRIVATE`, default false).
    public var webhookAllowPrivate: Bool
    public var logLevel: String
    /// How long hot reads (API keys, service definitions, a request's public status) are served from memory.
    public var cacheTTL: Duration
    /// Sign-in, sessions, tokens and abuse limits.
    public var security: SecuritySettings
    /// Outgoing mail: nil host means mail waits in the outbox until one is configured.
    public var mail: MailSettings
    /// Where the map comes from: Leaflet's files on this machine, and the tile server (none: a plain map still works).
    public var map: MapSettings
    /// Average driving speed for day plans, km/h (great-circle distances; city driving with stops).
    public var planningSpeedKmh: Double
    /// The time now, for what depends on it (a plan made during the day starts from now); tests set a fixed one.
    public var now: @Sendable () -> Date = { Date() }
    /// Signed checkpoints of the audit chain, kept outside the database.
    public var audit: AuditSettings

    public struct AuditSettings: Sendable {
        /// The Ed25519 private key that signs checkpoints (base64), from the environment or a file; never stored.
        public var signingKey: String?
        /// The public key `audit verify --checkpoints` checks signatures with (base64); derived from the private one
        /// when only that is set.
        public var publicKey: String?
        /// Where the server appends a checkpoint of each chain, one JSON line each time a chain has grown.
        public var checkpointFile: String?
        public var checkpointSeconds: Int
    }

    public struct MapSettings: Sendable {
        /// The folder holding leaflet.js, leaflet.css, images/ and leaflet.markercluster.js (Debian's libjs-leaflet and
        /// libjs-leaflet.markercluster install them in /usr/share/javascript/leaflet); served at /assets/leaflet/.
        public var scriptsPath: String
        /// A tile URL template such as https://tile.openstreetmap.org/{z}/{x}/{y}.png; empty for no tiles.
        public var tileURL: String
        public var tileAttribution: String

        /// The tile server's origin, for the pages' Content-Security-Policy.
        public var tileOrigin: String? {
            guard let url = URL(string: tileURL.replacingOccurrences(of: "{s}", with: "a")), let scheme = url.scheme, let host = url.host else {
                return nil
            }
            let origin = "\(scheme)://\(tileURL.contains("{s}.") ? "*." + host.split(separator: ".").dropFirst().joined(separator: ".") : host)"
            return url.port.map { "\(origin):\($0)" } ?? origin
        }

        /// Whether the files are there; pages fall back to address and coordinates only when they are not.
        public var available: Bool { FileManager.default.fileExists(atPath: scriptsPath + "/leaflet.js") }
    }

    public struct SecuritySettings: Sendable {
        public var sessionIdle: TimeInterval
        public var sessionLifetime: TimeInterval
        public var bcryptCost: Int
        public var lockoutAttempts: Int
        public var lockoutDuration: TimeInterval
        public var accessTokenLifetime: TimeInterval
        public var signInPerMinute: Int
        public var open311PostPerMinute: Int
        public var apiPerMinute: Int
        /// Take the client address from X-Forwarded-For (only behind a proxy that sets it).
        public var trustForwardedFor: Bool
    }

    public struct MailSettings: Sendable {
        public var smtpHost: String?
        public var smtpPort: Int
        public var from: String
    }

    /// The configuration sources in order: `values` (from CLI options) > environment > `.env` file.
    public static func reader(values: [AbsoluteConfigKey: ConfigValue]) async throws -> ConfigReader {
        ConfigReader(providers: [
            InMemoryProvider(name: "arguments", values: values),
            EnvironmentVariablesProvider(),
            try await EnvironmentVariablesProvider(environmentFilePath: FilePath(".env"), allowMissing: true),
        ])
    }

    /// A whole-number setting: its default when unset, an error naming it when set to something else.
    static func int(_ reader: ConfigReader, _ key: String, _ variable: String, default value: Int) throws(CivitasError) -> Int {
        if let number = reader.int(forKey: ConfigKey(key)) { return number }
        if let text = reader.string(forKey: ConfigKey(key)) {
            throw .invalid("config_invalid", "\(key) (\(variable)) must be a whole number, not \"\(text)\".")
        }
        return value
    }

    /// Reads the configuration; a value that cannot be used gets a message naming the key.
    public init(reader: ConfigReader) throws(CivitasError) {
        host = reader.string(forKey: "http.host", default: "127.0.0.1")
        port = try Self.int(reader, "http.port", "HTTP_PORT", default: 8080)
        guard (0...65535).contains(port) else {
            throw .invalid("config_invalid", "http.port (HTTP_PORT) must be between 0 and 65535, not \(port).")
        }
        database = try DatabaseURL(parsing: reader.string(forKey: "database.url", default: DatabaseURL.defaultValue))
        let zoneName = reader.string(forKey: "jurisdiction.timeZone")
        let name = reader.string(forKey: "jurisdiction.name")
        jurisdictionConfigured = zoneName != nil || name != nil
        var zone = TimeZone.gmt
        if let zoneName {
            guard let found = TimeZone(identifier: zoneName) else {
                throw .invalid(
                    "config_invalid",
                    "jurisdiction.timeZone (JURISDICTION_TIME_ZONE) \"\(zoneName)\" is not a time zone such as America/New_York.")
            }
            zone = found
        }
        let id = reader.string(forKey: "jurisdiction.id", default: "city")
        guard !id.isEmpty, id.count <= 100, !id.contains(where: \.isWhitespace) else {
            throw .invalid("config_invalid", "jurisdiction.id (JURISDICTION_ID) must be 1 to 100 characters without spaces.")
        }
        jurisdiction = Jurisdiction(id: id, name: name ?? "Civitas City", timeZone: zone)
        // Room for a report's three phone photos at once.
        maxBodySize = try Self.int(reader, "http.maxBodySize", "HTTP_MAX_BODY_SIZE", default: 25 * 1024 * 1024)
        guard maxBodySize >= 1024 else {
            throw .invalid("config_invalid", "http.maxBodySize (HTTP_MAX_BODY_SIZE) must be at least 1024 bytes.")
        }
        idleTimeoutSeconds = try Self.int(reader, "http.idleTimeoutSeconds", "HTTP_IDLE_TIMEOUT_SECONDS", default: 30)
        guard (1...3600).contains(idleTimeoutSeconds) else {
            throw .invalid("config_invalid", "http.idleTimeoutSeconds (HTTP_IDLE_TIMEOUT_SECONDS) must be between 1 and 3600.")
        }
        bodyTimeoutSeconds = try Self.int(reader, "http.bodyTimeoutSeconds", "HTTP_BODY_TIMEOUT_SECONDS", default: 120)
        guard (1...3600).contains(bodyTimeoutSeconds) else {
            throw .invalid("config_invalid", "http.bodyTimeoutSeconds (HTTP_BODY_TIMEOUT_SECONDS) must be between 1 and 3600.")
        }
        maxConnections = try Self.int(reader, "http.maxConnections", "HTTP_MAX_CONNECTIONS", default: 10_000)
        guard (1...1_000_000).contains(maxConnections) else {
            throw .invalid("config_invalid", "http.maxConnections (HTTP_MAX_CONNECTIONS) must be between 1 and 1000000.")
        }
        maxConnectionsPerClient = try Self.int(reader, "http.maxConnectionsPerClient", "HTTP_MAX_CONNECTIONS_PER_CLIENT", default: 256)
        guard (0...1_000_000).contains(maxConnectionsPerClient) else {
            throw .invalid(
                "config_invalid", "http.maxConnectionsPerClient (HTTP_MAX_CONNECTIONS_PER_CLIENT) must be between 0 (off) and 1000000.")
        }
        let defaultPublic = "http://\(host.contains(":") ? "[\(host)]" : host):\(port)"
        publicURL = reader.string(forKey: "http.publicURL", default: defaultPublic)
        while publicURL.hasSuffix("/") { publicURL.removeLast() }
        let batchMillis = try Self.int(reader, "intake.batchIntervalMs", "INTAKE_BATCH_INTERVAL_MS", default: 1000)
        guard (10...3_600_000).contains(batchMillis) else {
            throw .invalid("config_invalid", "intake.batchIntervalMs (INTAKE_BATCH_INTERVAL_MS) must be between 10 and 3600000.")
        }
        batchInterval = .milliseconds(batchMillis)
        caseSweepSeconds = try Self.int(reader, "cases.sweepSeconds", "CASES_SWEEP_SECONDS", default: 60)
        webhookRetrySeconds = try Self.int(reader, "webhooks.retrySeconds", "WEBHOOKS_RETRY_SECONDS", default: 30)
        webhookAllowPrivate = reader.bool(forKey: "webhooks.allowPrivate", default: false)
        guard (1...3600).contains(webhookRetrySeconds) else {
            throw .invalid("config_invalid", "webhooks.retrySeconds (WEBHOOKS_RETRY_SECONDS) must be between 1 and 3600.")
        }
        guard (1...86_400).contains(caseSweepSeconds) else {
            throw .invalid("config_invalid", "cases.sweepSeconds (CASES_SWEEP_SECONDS) must be between 1 and 86400.")
        }
        logLevel = reader.string(forKey: "log.level", default: "info").lowercased()
        guard ["trace", "debug", "info", "notice", "warning", "error", "critical"].contains(logLevel) else {
            throw .invalid("config_invalid", "log.level (LOG_LEVEL) must be one of trace, debug, info, notice, warning, error, critical.")
        }
        let cacheMillis = try Self.int(reader, "cache.ttlMs", "CACHE_TTL_MS", default: 1000)
        guard (0...60_000).contains(cacheMillis) else {
            throw .invalid("config_invalid", "cache.ttlMs (CACHE_TTL_MS) must be between 0 and 60000 milliseconds.")
        }
        cacheTTL = .milliseconds(cacheMillis)

        func bounded(_ key: String, _ variable: String, _ value: Int, _ range: ClosedRange<Int>) throws(CivitasError) -> Int {
            let number = try Self.int(reader, key, variable, default: value)
            guard range.contains(number) else {
                throw .invalid("config_invalid", "\(key) (\(variable)) must be between \(range.lowerBound) and \(range.upperBound).")
            }
            return number
        }
        security = SecuritySettings(
            sessionIdle: TimeInterval(try bounded("session.idleMinutes", "SESSION_IDLE_MINUTES", 30, 1...1440) * 60),
            sessionLifetime: TimeInterval(try bounded("session.absoluteHours", "SESSION_ABSOLUTE_HOURS", 12, 1...720) * 3600),
            bcryptCost: try bounded("auth.bcryptCost", "AUTH_BCRYPT_COST", 12, 4...16),
            lockoutAttempts: try bounded("auth.lockoutAttempts", "AUTH_LOCKOUT_ATTEMPTS", 5, 1...100),
            lockoutDuration: TimeInterval(try bounded("auth.lockoutMinutes", "AUTH_LOCKOUT_MINUTES", 15, 1...1440) * 60),
            accessTokenLifetime: TimeInterval(try bounded("oauth.tokenLifetimeSeconds", "OAUTH_TOKEN_LIFETIME_SECONDS", 900, 1...86400)),
            signInPerMinute: try bounded("rateLimit.signInPerMinute", "RATE_LIMIT_SIGN_IN_PER_MINUTE", 20, 1...1_000_000_000),
            open311PostPerMinute: try bounded(
                "rateLimit.submissionsPerMinute", "RATE_LIMIT_SUBMISSIONS_PER_MINUTE", 120, 1...1_000_000_000),
            apiPerMinute: try bounded("rateLimit.apiPerMinute", "RATE_LIMIT_API_PER_MINUTE", 1200, 1...1_000_000_000),
            trustForwardedFor: reader.bool(forKey: "http.trustForwardedFor", default: false))
        mail = MailSettings(
            smtpHost: reader.string(forKey: "mail.smtpHost").flatMap { $0.isEmpty ? nil : $0 },
            smtpPort: try bounded("mail.smtpPort", "MAIL_SMTP_PORT", 25, 1...65535),
            from: reader.string(forKey: "mail.from", default: "civitas@localhost"))
        planningSpeedKmh = Double(try bounded("planning.averageSpeedKmh", "PLANNING_AVERAGE_SPEED_KMH", 25, 1...200))
        audit = AuditSettings(
            signingKey: reader.string(forKey: "audit.signingKey", isSecret: true).flatMap { $0.isEmpty ? nil : $0 },
            publicKey: reader.string(forKey: "audit.publicKey").flatMap { $0.isEmpty ? nil : $0 },
            checkpointFile: reader.string(forKey: "audit.checkpointFile").flatMap { $0.isEmpty ? nil : $0 },
            checkpointSeconds: try bounded("audit.checkpointSeconds", "AUDIT_CHECKPOINT_SECONDS", 300, 1...86_400))
        map = MapSettings(
            scriptsPath: reader.string(forKey: "map.scriptsPath", default: "/usr/share/javascript/leaflet"),
            tileURL: reader.string(forKey: "map.tileURL", default: "https://tile.openstreetmap.org/{z}/{x}/{y}.png"),
            tileAttribution: reader.string(forKey: "map.tileAttribution", default: "© OpenStreetMap contributors"))
    }
}
