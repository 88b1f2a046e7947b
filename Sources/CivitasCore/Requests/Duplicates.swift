import Foundation

/// When two reports of one service are taken to be the same problem: how near, and how recent.
public struct DuplicatePolicy: Sendable, Equatable {
    /// Open requests of the same service within this distance are candidates.
    public var radiusMetres: Double
    /// ... and opened within this long before the new report.
    public var window: TimeInterval

    public static let standard = DuplicatePolicy(radiusMetres: 50, window: 14 * 86_400)

    public init(radiusMetres: Double, window: TimeInterval) {
        self.radiusMetres = radiusMetres
        self.window = window
    }
}

/// What is known of a report when duplicates are looked for: before submit (the resident's answers so far) or after
/// (a filed request).
public struct DuplicateProbe: Sendable, Equatable {
    public var serviceCode: String
    public var location: Coordinate
    public var at: Date
    public var description: String?

    public init(serviceCode: String, location: Coordinate, at: Date, description: String? = nil) {
        self.serviceCode = serviceCode
        self.location = location
        self.at = at
        self.description = description
    }
}

/// An existing request that may be the same problem.
public struct DuplicateCandidate: Sendable, Equatable {
    public var id: Int64
    public var serviceCode: String
    public var status: RequestStatus
    public var location: Coordinate
    public var requestedAt: Date
    public var description: String?

    public init(
        id: Int64, serviceCode: String, status: RequestStatus, location: Coordinate, requestedAt: Date, description: String? = nil
    ) {
        self.id = id
        self.serviceCode = serviceCode
        self.status = status
        self.location = location
        self.requestedAt = requestedAt
        self.description = description
    }
}

/// Why a candidate was offered, in numbers and in words.
public struct DuplicateMatch: Sendable, Equatable {
    public var id: Int64
    /// 0 (barely) to 1 (same spot, same moment, same words).
    public var score: Double
    public var distanceMetres: Double
    /// How long before the probe the candidate was opened (never negative).
    public var age: TimeInterval
    /// Word overlap of the two descriptions (Jaccard, 0 to 1), when both have one.
    public var textSimilarity: Double?

    /// "same service, 18 m away, opened 2 h ago, similar description": for staff, who decide.
    public var explanation: String {
        var parts = ["same service", "\(Int(distanceMetres.rounded())) m away", "opened \(DuplicateMatch.ago(age))"]
        if let textSimilarity, textSimilarity >= DuplicateScoring.similarText { parts.append("similar description") }
        return parts.joined(separator: ", ")
    }

    static func ago(_ interval: TimeInterval) -> String {
        let minutes = Int(interval / 60)
        if minutes < 1 { return "just now" }
        if minutes < 60 { return "\(minutes) min ago" }
        let hours = minutes / 60
        if hours < 48 { return "\(hours) h ago" }
        return "\(hours / 24) days ago"
    }
}

/// Scores how likely an existing request is the same problem as a new report.
///
/// Only an open request of the same service, within the service's radius and window, is a candidate at all: a
/// different service at the same spot is a different job for a different crew, and a closed request cannot be
/// followed. Among candidates, nearness counts most, then recency, then shared words in the descriptions.
public enum DuplicateScoring {
    /// Word overlap from which descriptions are called similar.
    public static let similarText = 0.3

    public static func match(_ probe: DuplicateProbe, _ candidate: DuplicateCandidate, policy: DuplicatePolicy = .standard)
        -> DuplicateMatch?
    {
        guard candidate.serviceCode == probe.serviceCode, candidate.status == .open else { return nil }
        let distance = probe.location.distance(to: candidate.location)
        guard distance <= policy.radiusMetres else { return nil }
        let age = max(0, probe.at.timeIntervalSince(candidate.requestedAt))
        // A request filed after the probe's moment (a later report, looked at afterwards) is as near in time as one before.
        let gap = abs(probe.at.timeIntervalSince(candidate.requestedAt))
        guard gap <= policy.window else { return nil }
        let nearness = policy.radiusMetres > 0 ? 1 - distance / policy.radiusMetres : 1
        let recency = policy.window > 0 ? 1 - gap / policy.window : 1
        let text = similarity(probe.description, candidate.description)
        let score: Double
        if let text {
            score = 0.5 * nearness + 0.3 * recency + 0.2 * text
        } else {
            score = 0.6 * nearness + 0.4 * recency
        }
        return DuplicateMatch(id: candidate.id, score: score, distanceMetres: distance, age: age, textSimilarity: text)
    }

    /// Every candidate that matches, best first.
    public static func rank(_ probe: DuplicateProbe, _ candidates: [DuplicateCandidate], policy: DuplicatePolicy = .standard)
        -> [DuplicateMatch]
    {
        candidates.compactMap { match(probe, $0, policy: policy) }
            .sorted { $0.score != $1.score ? $0.score > $1.score : $0.id < $1.id }
    }

    /// Jaccard overlap of the descriptions' words (lowercased, diacritics folded, short and common words dropped);
    /// nil when either has no words left.
    public static func similarity(_ a: String?, _ b: String?) -> Double? {
        guard let a, let b else { return nil }
        let left = words(a)
        let right = words(b)
        guard !left.isEmpty, !right.isEmpty else { return nil }
        return Double(left.intersection(right).count) / Double(left.union(right).count)
    }

    static let stopWords: Set<String> = [
        "the", "and", "for", "with", "from", "this", "that", "there", "are", "was", "has", "have", "been", "not", "but",
        "near", "next", "front", "please", "again", "still", "los", "las", "del", "que", "una", "por", "con", "para",
    ]

    public static func words(_ text: String) -> Set<String> {
        let folded = text.folding(options: [.caseInsensitive, .diacriticInsensitive], locale: nil)
        let tokens = folded.split(whereSeparator: { !$0.isLetter && !$0.isNumber }).map(String.init)
        return Set(tokens.filter { $0.count >= 3 && !stopWords.contains($0) }.map(stem))
    }

    /// Enough stemming for "couches"/"couch", "mattresses"/"mattress", "blocking"/"blocked".
    static func stem(_ word: String) -> String {
        if word.hasSuffix("ss") { return word }
        for suffix in ["ing", "es", "ed", "s"] where word.count > suffix.count + 3 && word.hasSuffix(suffix) {
            return String(word.dropLast(suffix.count))
        }
        return word
    }
}
