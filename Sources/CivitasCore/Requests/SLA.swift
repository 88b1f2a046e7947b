import Foundation

/// Where a request stands against its service level: the badge staff see, and what the queue sorts by.
public enum SLAState: String, Sendable, Equatable, CaseIterable, Comparable {
    /// No target (the service has none) or the request is closed.
    case none
    case onTrack = "on_track"
    /// Half the time is used.
    case half
    /// Three quarters used.
    case threeQuarters = "three_quarters"
    case breached

    var rank: Int {
        switch self {
        case .none: 0
        case .onTrack: 1
        case .half: 2
        case .threeQuarters: 3
        case .breached: 4
        }
    }

    public static func < (lhs: SLAState, rhs: SLAState) -> Bool { lhs.rank < rhs.rank }
}

/// The SLA clock of one request: from when it was opened to when it is expected, read at a moment.
public struct SLAClock: Sendable, Equatable {
    public var state: SLAState
    /// Fraction of the allowed time used (can pass 1); nil without a target.
    public var used: Double?
    /// Time left (negative once breached); nil without a target.
    public var remaining: TimeInterval?

    public init(requestedAt: Date, expectedAt: Date?, status: RequestStatus, now: Date) {
        guard status == .open, let expectedAt, expectedAt > requestedAt else {
            self.state = .none
            self.used = nil
            self.remaining = nil
            return
        }
        let used = now.timeIntervalSince(requestedAt) / expectedAt.timeIntervalSince(requestedAt)
        self.used = used
        self.remaining = expectedAt.timeIntervalSince(now)
        switch used {
        case ..<0.5: state = .onTrack
        case ..<0.75: state = .half
        case ..<1: state = .threeQuarters
        default: state = .breached
        }
    }

    /// Queue order: the most urgent first (breached, then closest to breach by remaining time), then oldest.
    public static func urgencyOrder(_ a: (clock: SLAClock, requestedAt: Date, id: Int64), _ b: (clock: SLAClock, requestedAt: Date, id: Int64))
        -> Bool
    {
        switch (a.clock.remaining, b.clock.remaining) {
        case (let left?, let right?) where left != right: return left < right
        case (.some, nil): return true
        case (nil, .some): return false
        default: return a.requestedAt != b.requestedAt ? a.requestedAt < b.requestedAt : a.id < b.id
        }
    }
}
