@preconcurrency import AsyncKit
import CivitasCore
import Foundation
import Logging
import NIOCore
import NIOPosix
import PostgresKit
import SQLKit
import SQLiteKit

/// Runs SQLite write transactions that arrive together in one real transaction, one savepoint each, so many
/// acknowledged writes share a single fsync. Only one batch runs at a time: SQLite has one writer anyway.
actor GroupCommitter {
    private struct Job {
        let run: @Sendable (any SQLDatabase) async throws -> any Sendable
        let finish: @Sendable (Result<any Sendable, any Error>) -> Void
    }

    private let lender: any ConnectionLender
    private let logger: Logger
    private var pending: [Job] = []
    private var draining = false
    /// The most writes one commit has carried so far (for tests and diagnostics).
    private(set) var largestBatch = 0
    /// Upper bound on writes per commit, so one commit never holds the lock for long.
    private let maximumBatch = 256

    init(lender: any ConnectionLender, logger: Logger) {
        self.lender = lender
        self.logger = logger
    }

    func submit<R: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> R) async throws -> R {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<R, any Error>) in
            pending.append(
                Job(
                    run: { sql in try await body(sql) },
                    finish: { result in
                        // The value is the R this job's body returned.
                        continuation.resume(with: result.map { $0 as! R })
                    }))
            if !draining {
                draining = true
                Task { await self.drain() }
            }
        }
    }

    private func drain() async {
        while !pending.isEmpty {
            let batch = Array(pending.prefix(maximumBatch))
            pending.removeFirst(batch.count)
            largestBatch = max(largestBatch, batch.count)
            let outcomes = await run(batch)
            for (job, outcome) in zip(batch, outcomes) { job.finish(outcome) }
        }
        draining = false
    }

    private func run(_ batch: [Job]) async -> [Result<any Sendable, any Error>] {
        let logger = logger
        do {
            return try await lender.withSQL { sql in
                // IMMEDIATE takes the write lock up front, so the transaction never fails half-way on a busy lock.
                try await sql.raw("BEGIN IMMEDIATE").run()
                var outcomes: [Result<any Sendable, any Error>] = []
                do {
                    for job in batch {
                        guard batch.count > 1 else {
                            outcomes.append(.success(try await Database.$enclosingTransaction.withValue(sql) { try await job.run(sql) }))
                            continue
                        }
                        try await sql.raw("SAVEPOINT civitas_job").run()
                        do {
                            let value = try await Database.$enclosingTransaction.withValue(sql) { try await job.run(sql) }
                            try await sql.raw("RELEASE civitas_job").run()
                            outcomes.append(.success(value))
                        } catch {
                            try await sql.raw("ROLLBACK TO civitas_job").run()
                            try await sql.raw("RELEASE civitas_job").run()
                            outcomes.append(.failure(error))
                        }
                    }
                    try await sql.raw("COMMIT").run()
                } catch {
                    await Database.rollback(sql, logger: logger)
                    throw error
                }
                return outcomes
            }
        } catch {
            return batch.map { _ in .failure(error) }
        }
    }
}
