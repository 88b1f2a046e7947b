@preconcurrency import AsyncKit
import CivitasCore
import Foundation
import Logging
import NIOCore
import NIOPosix
import PostgresKit
import SQLKit
import SQLiteKit

/// Subscribers to in-process announcements (SQLite runs as one process, so this is everyone).
final class LocalBus: @unchecked Sendable {
    private let lock = NSLock()
    private var subscribers: [Int: (channel: String, deliver: @Sendable (String) -> Void)] = [:]
    private var next = 0

    func subscribe(_ channel: String, _ deliver: @escaping @Sendable (String) -> Void) -> Int {
        lock.lock()
        defer { lock.unlock() }
        next += 1
        subscribers[next] = (channel, deliver)
        return next
    }

    func unsubscribe(_ token: Int) {
        lock.lock()
        subscribers[token] = nil
        lock.unlock()
    }

    func publish(_ channel: String, _ payload: String) {
        lock.lock()
        let targets = subscribers.values.filter { $0.channel == channel }.map(\.deliver)
        lock.unlock()
        for deliver in targets { deliver(payload) }
    }
}
