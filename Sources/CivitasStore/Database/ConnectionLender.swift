@preconcurrency import AsyncKit
import CivitasCore
import Foundation
import Logging
import NIOCore
import NIOPosix
import PostgresKit
import SQLKit
import SQLiteKit

/// Lends a connection from a pool for the length of one closure.
protocol ConnectionLender: Sendable {
    func withSQL<R: Sendable>(_ body: (any SQLDatabase) async throws -> R) async throws -> R
    func shutdown() async
}

// The pool guards its own state with a lock; AsyncKit predates Sendable annotations.
struct PoolLender<Source: ConnectionPoolSource>: ConnectionLender, @unchecked Sendable {
    let pool: EventLoopGroupConnectionPool<Source>
    let logger: Logger
    let makeSQL: @Sendable (Source.Connection) -> any SQLDatabase

    func withSQL<R: Sendable>(_ body: (any SQLDatabase) async throws -> R) async throws -> R {
        let connection: Source.Connection
        do {
            connection = try await pool.requestConnection(logger: logger).get()
        } catch {
            logger.error("database connection failed", metadata: ["error": "\(String(describing: error))"])
            throw CivitasError(
                .unavailable, code: "database_unavailable", message: "The database cannot be reached right now.")
        }
        defer { pool.releaseConnection(connection, logger: logger) }
        return try await body(makeSQL(connection))
    }

    func shutdown() async {
        try? await pool.shutdownAsync()
    }
}

/// Opens SQLite connections with the settings Civitas relies on: WAL, full fsync on commit, foreign keys,
/// and a busy timeout for the rare moment another process holds the lock.
struct SQLiteFileSource: ConnectionPoolSource {
    let path: String

    func makeConnection(logger: Logger, on eventLoop: any EventLoop) -> EventLoopFuture<SQLiteConnection> {
        SQLiteConnection.open(storage: .file(path: path), threadPool: .singleton, logger: logger, on: eventLoop)
            .flatMap { connection in
                let pragmas = [
                    "PRAGMA busy_timeout = 10000", "PRAGMA journal_mode = WAL", "PRAGMA synchronous = FULL",
                    "PRAGMA foreign_keys = ON",
                ]
                return pragmas.reduce(eventLoop.makeSucceededVoidFuture()) { chain, pragma in
                    chain.flatMap { connection.query(pragma).map { _ in } }
                }
                .flatMapError { error in connection.close().flatMapThrowing { throw error } }
                .map { connection }
            }
    }
}
