@preconcurrency import AsyncKit
import CivitasCore
import Foundation
import Logging
import NIOCore
import NIOPosix
import PostgresKit
import SQLKit
import SQLiteKit

/// The one storage handle of a Civitas process: an SQLite file or a PostgreSQL pool, reached through SQLKit.
public final class Database: Sendable {
    /// Which engine is behind this handle, for the few statements that must differ.
    public enum Engine: String, Sendable { case sqlite, postgres }

    public let engine: Engine
    public let url: DatabaseURL
    let logger: Logger
    private let readers: any ConnectionLender
    /// SQLite allows one writer at a time; a single writer connection serialises writes in-process
    /// instead of letting them collide on the file lock.
    private let writer: any ConnectionLender
    private let committer: GroupCommitter?
    /// PostgreSQL: how to open the dedicated connection that LISTENs. SQLite (one process): the in-process bus.
    private let listenConfiguration: PostgresConnection.Configuration?
    private let bus = LocalBus()

    public static func open(_ url: DatabaseURL, logger: Logger) throws -> Database {
        try Database(url: url, logger: logger)
    }

    private init(url: DatabaseURL, logger: Logger) throws {
        self.url = url
        self.logger = logger
        let group = MultiThreadedEventLoopGroup.singleton
        switch url {
        case .sqlite(let path):
            let fileURL = URL(fileURLWithPath: path)
            let folder = fileURL.deletingLastPathComponent()
            do {
                try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            } catch {
                throw CivitasError(
                    .unavailable, code: "database_folder",
                    message: "Cannot create the folder \(folder.path) for the database: \(error.localizedDescription)")
            }
            let source = SQLiteFileSource(path: fileURL.path)
            engine = .sqlite
            readers = PoolLender(
                pool: EventLoopGroupConnectionPool(
                    source: source, maxConnectionsPerEventLoop: 4, pruneInterval: nil, logger: logger, on: group),
                logger: logger, makeSQL: { $0.sql(queryLogLevel: nil) })
            writer = PoolLender(
                pool: EventLoopGroupConnectionPool(
                    source: source, maxConnectionsPerEventLoop: 1, pruneInterval: nil, logger: logger, on: group.next()),
                logger: logger, makeSQL: { $0.sql(queryLogLevel: nil) })
            committer = GroupCommitter(lender: writer, logger: logger)
            listenConfiguration = nil
        case .postgres(let text):
            var configuration: SQLPostgresConfiguration
            do {
                configuration = try SQLPostgresConfiguration(url: text)
            } catch {
                throw CivitasError.invalid("database_url_invalid", "The PostgreSQL URL could not be read: \(url).")
            }
            configuration.coreConfiguration.options.connectTimeout = .seconds(5)
            let pool = EventLoopGroupConnectionPool(
                source: PostgresConnectionSource(sqlConfiguration: configuration), maxConnectionsPerEventLoop: 8,
                pruneInterval: .seconds(60), logger: logger, on: group)
            engine = .postgres
            let lender = PoolLender(pool: pool, logger: logger, makeSQL: { $0.sql(queryLogLevel: nil) as any SQLDatabase })
            readers = lender
            writer = lender
            committer = nil
            listenConfiguration = configuration.coreConfiguration
        }
    }

    /// Tells every instance on this database that something happened, after the change has committed: PostgreSQL
    /// `NOTIFY` (every process that LISTENs hears it, this one included), or the in-process bus on SQLite. A lost
    /// announcement only delays a live view until its next refresh, so failures are logged, not thrown.
    public func announce(_ channel: String, _ payload: String) async {
        switch engine {
        case .sqlite:
            bus.publish(channel, payload)
        case .postgres:
            do {
                try await readers.withSQL { sql in
                    _ = try await sql.select().column(SQLFunction("pg_notify", args: SQLBind(channel), SQLBind(payload)), as: "sent").first()
                }
            } catch {
                logger.warning("announcement not sent", metadata: ["channel": "\(channel)", "error": "\(String(reflecting: type(of: error)))"])
            }
        }
    }

    /// Everything announced on `channel` by any instance, for as long as the caller keeps reading. On PostgreSQL a
    /// dedicated connection LISTENs, and reconnects (after a pause) when it is lost.
    public func listen(_ channel: String) -> AsyncStream<String> {
        let (stream, continuation) = AsyncStream<String>.makeStream(bufferingPolicy: .bufferingNewest(1000))
        switch engine {
        case .sqlite:
            let token = bus.subscribe(channel) { continuation.yield($0) }
            continuation.onTermination = { [bus] _ in bus.unsubscribe(token) }
        case .postgres:
            guard let configuration = listenConfiguration else {
                continuation.finish()
                break
            }
            let logger = logger
            let task = Task {
                var attempt = 0
                while !Task.isCancelled {
                    do {
                        let connection = try await PostgresConnection.connect(
                            on: MultiThreadedEventLoopGroup.singleton.next(), configuration: configuration, id: 0, logger: logger
                        ).get()
                        attempt = 0
                        do {
                            try await connection.listen(on: channel) { notifications in
                                for try await notification in notifications { continuation.yield(notification.payload) }
                            }
                        } catch {
                            try? await connection.close()
                            throw error
                        }
                        try? await connection.close()
                    } catch {
                        if Task.isCancelled { break }
                        attempt += 1
                        logger.warning("listening again", metadata: ["channel": "\(channel)", "attempt": "\(attempt)"])
                        try? await Task.sleep(for: .milliseconds(min(5000, 200 * attempt)))
                    }
                }
                continuation.finish()
            }
            continuation.onTermination = { _ in task.cancel() }
        }
        return stream
    }

    /// Runs `body` on a pooled connection, for reads that need no transaction.
    ///
    /// Inside a transaction it reads on the transaction's own connection: it sees the transaction's writes, and a
    /// transaction never waits for a second connection from the pool (which, under load, would starve the pool).
    public func read<R: Sendable>(_ body: (any SQLDatabase) async throws -> R) async throws -> R {
        if let enclosing = Self.enclosingTransaction { return try await body(enclosing) }
        return try await readers.withSQL(body)
    }

    /// Runs `body` in one transaction: everything it writes is committed together, or nothing is, and when this
    /// returns the writes are durable.
    ///
    /// On SQLite, transactions that arrive together share one commit (group commit): each runs inside its own
    /// savepoint, so a failing one is rolled back alone, and all are answered after the single COMMIT and fsync.
    ///
    /// Called from inside another transaction's body, it joins that transaction (a nested call would otherwise
    /// wait for the very commit it is part of).
    public func transaction<R: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> R) async throws -> R {
        if let enclosing = Self.enclosingTransaction {
            return try await body(enclosing)
        }
        if let committer {
            return try await committer.submit(body)
        }
        // PostgreSQL may end one of two transactions that wait on each other (a deadlock) or that could not be
        // serialised; the other goes through, and the one ended is tried again from the start, up to three times.
        var attempt = 0
        while true {
            attempt += 1
            do {
                return try await writer.withSQL { sql in
                    try await sql.raw("BEGIN").run()
                    do {
                        let result = try await Self.$enclosingTransaction.withValue(sql) { try await body(sql) }
                        try await sql.raw("COMMIT").run()
                        return result
                    } catch {
                        await Self.rollback(sql, logger: logger)
                        throw error
                    }
                }
            } catch  where attempt < 3 && Self.mayRetry(error) {
                logger.notice("transaction retried", metadata: ["attempt": "\(attempt + 1)"])
            }
        }
    }

    /// A deadlock (40P01) or a serialisation failure (40001): nothing was written, and trying again may succeed.
    static func mayRetry(_ error: any Error) -> Bool {
        guard let state = sqlState(error) else { return false }
        return state == "40P01" || state == "40001"
    }

    /// PostgreSQL's SQLSTATE for an error it reported (`23505`, `40P01`), or nil. Safe to log: a code, never the
    /// query or its values.
    public static func sqlState(_ error: any Error) -> String? {
        (error as? PSQLError)?.serverInfo?[.sqlState]
    }

    /// The connection of the transaction the current task is running in, if any.
    @TaskLocal static var enclosingTransaction: (any SQLDatabase)?

    static func rollback(_ sql: any SQLDatabase, logger: Logger) async {
        do {
            try await sql.raw("ROLLBACK").run()
        } catch {
            logger.error("rollback failed", metadata: ["error": "\(String(reflecting: error))"])
        }
    }

    /// The most writes one SQLite commit has carried (nil on PostgreSQL, which commits each transaction alone).
    func largestGroupCommit() async -> Int? {
        await committer?.largestBatch
    }

    /// Whether the database answers a trivial query.
    public func ping() async -> Bool {
        do {
            return try await read { sql in try await sql.raw("SELECT 1 AS one").first() != nil }
        } catch {
            return false
        }
    }

    public func shutdown() async {
        await readers.shutdown()
        if engine == .sqlite { await writer.shutdown() }
    }
}

extension Database {
    /// How many rows of `table` belong to a jurisdiction.
    func count(_ table: String, jurisdictionID: String) async throws -> Int {
        try await read { sql in
            try await sql.select().column(SQLFunction("COUNT", args: SQLLiteral.all), as: "n").from(table)
                .where("jurisdiction_id", .equal, jurisdictionID).first()?.decode(column: "n", as: Int.self) ?? 0
        }
    }
}
