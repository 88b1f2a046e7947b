import Dispatch
import Foundation

/// How long and how the solver searches.
public struct SolverOptions: Sendable {
    public var timeLimit: Duration
    public var seed: UInt64
    /// Stop after this many ruin-and-recreate iterations per search (makes runs reproducible whatever the machine).
    public var maxIterations: Int?
    /// Independent searches run in parallel with seeds derived from `seed`; the best result wins.
    public var threads: Int

    public init(timeLimit: Duration = .seconds(10), seed: UInt64 = 1, maxIterations: Int? = nil, threads: Int = 1) {
        self.timeLimit = timeLimit
        self.seed = seed
        self.maxIterations = maxIterations
        self.threads = max(1, threads)
    }
}

/// Plans routes: a ruin-and-recreate search in the style of SISR (adjacent string removal, greedy insertion with
/// blinks, simulated annealing), with a first phase that removes whole routes while every stop can still be served.
public enum RoutingSolver {
    public static func solve(_ problem: RoutingProblem, options: SolverOptions = SolverOptions()) -> RoutingSolution {
        guard problem.count > problem.depotCount else { return RoutingSolution(routes: [], problem: problem) }
        let count = options.threads
        let results = ResultBox(count: count)
        DispatchQueue.concurrentPerform(iterations: count) { index in
            var search = Search(problem: problem, seed: options.seed &+ UInt64(index) &* 0x9E37_79B9_7F4A_7C15, options: options)
            results.set(index, search.run())
        }
        // Ties go to the lowest index, so a fixed seed and thread count give the same answer.
        var solution = results.all.reduce(nil as RoutingSolution?) { best, next in
            guard let best else { return next }
            return next.isBetter(than: best) ? next : best
        }!
        solution.violations = FeasibilityChecker.violations(of: solution.routes, vehicles: solution.assignments, in: problem)
        return solution
    }
}

private final class ResultBox: @unchecked Sendable {
    private let lock = NSLock()
    private var values: [RoutingSolution?]
    init(count: Int) { values = Array(repeating: nil, count: count) }
    func set(_ index: Int, _ value: RoutingSolution) { lock.withLock { values[index] = value } }
    var all: [RoutingSolution] { lock.withLock { values.compactMap { $0 } } }
}

/// xoshiro256** seeded through SplitMix64: fast, and the same sequence on every platform.
struct Xoshiro: RandomNumberGenerator {
    private var s: (UInt64, UInt64, UInt64, UInt64)

    init(seed: UInt64) {
        var x = seed
        func splitmix() -> UInt64 {
            x &+= 0x9E37_79B9_7F4A_7C15
            var z = x
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        s = (splitmix(), splitmix(), splitmix(), splitmix())
    }

    mutating func next() -> UInt64 {
        let result = ((s.1 &* 5) << 7 | (s.1 &* 5) >> 57) &* 9
        let t = s.1 << 17
        s.2 ^= s.0
        s.3 ^= s.1
        s.1 ^= s.2
        s.0 ^= s.3
        s.2 ^= t
        s.3 = (s.3 << 45) | (s.3 >> 19)
        return result
    }

    mutating func unit() -> Double { Double(next() >> 11) * 0x1.0p-53 }
    mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }
}
