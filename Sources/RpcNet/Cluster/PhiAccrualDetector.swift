import DequeModule
import Foundation
import Transports

/// The φ accrual failure detector (Hayashibara et al., 2004), as Akka and Pekko use it: the
/// intervals between messages heard from a member are modelled as a normal distribution, and
/// φ = −log10(P(an interval longer than the current silence)). φ = 1 means a 10 % chance that the
/// member is merely late, φ = 8 one in 10^8.
///
/// Two guards keep it from firing on noise (Akka's settings): a floor on the standard deviation,
/// so very regular arrivals do not make a small delay look fatal, and an acceptable pause added
/// to the mean.
struct PhiAccrualDetector {
    private var intervals: Deque<Double> = []
    private var sum = 0.0
    private var sumOfSquares = 0.0
    private let window: Int
    private let minStandardDeviation: Double
    private let acceptablePause: Double
    private(set) var lastHeard: MonotonicInstant?

    init(window: Int, minStandardDeviation: Duration, acceptablePause: Duration) {
        self.window = max(window, 1)
        self.minStandardDeviation = minStandardDeviation.seconds
        self.acceptablePause = acceptablePause.seconds
    }

    /// Records that the member was heard from at `now`.
    mutating func heard(at now: MonotonicInstant) {
        if let lastHeard, lastHeard < now {
            let interval = lastHeard.duration(to: now).seconds
            intervals.append(interval)
            sum += interval
            sumOfSquares += interval * interval
            if intervals.count > window {
                let oldest = intervals.removeFirst()
                sum -= oldest
                sumOfSquares -= oldest * oldest
            }
        }
        if lastHeard.map({ $0 < now }) ?? true { lastHeard = now }
    }

    /// Whether enough intervals were seen for φ to mean anything.
    var hasSamples: Bool { intervals.count >= 2 }

    /// φ at `now`, or nil without enough samples.
    func phi(at now: MonotonicInstant) -> Double? {
        guard let (mean, deviation) = distribution, let lastHeard else { return nil }
        return Self.phi(standardScore: (lastHeard.duration(to: now).seconds - mean) / deviation)
    }

    /// When φ reaches the value of standard score `y` (see ``standardScore(atPhi:)``) if nothing
    /// more is heard: φ only rises with silence, so this is the one instant worth checking. It is
    /// rounded up by a microsecond, so φ at that instant is never a rounding error short of it.
    func crossing(standardScore y: Double) -> MonotonicInstant? {
        guard let (mean, deviation) = distribution, let lastHeard else { return nil }
        return lastHeard.advanced(by: .seconds(max(mean + y * deviation, 0)) + .microseconds(1))
    }

    /// The expected interval (acceptable pause included) and its deviation (at least the floor),
    /// or nil without enough samples.
    private var distribution: (mean: Double, deviation: Double)? {
        guard hasSamples else { return nil }
        let count = Double(intervals.count)
        let variance = max(sumOfSquares / count - (sum / count) * (sum / count), 0)
        return (sum / count + acceptablePause, max(variance.squareRoot(), minStandardDeviation))
    }

    /// φ for a silence `y` standard deviations past the mean. Akka's logistic approximation of
    /// the normal distribution's tail, accurate to 1e-4 and stable far into the tail, where
    /// 1 - CDF would round to zero.
    static func phi(standardScore y: Double) -> Double {
        let e = exp(-y * (1.5976 + 0.070566 * y * y))
        let tail = y > 0 ? e / (1 + e) : 1 - 1 / (1 + e)
        return -log10(max(tail, Double.leastNonzeroMagnitude))
    }

    /// The standard score at which φ reaches `target`, by bisection (φ rises with the score).
    static func standardScore(atPhi target: Double) -> Double {
        var low = -10.0
        var high = 40.0
        for _ in 0..<100 {
            let middle = (low + high) / 2
            if phi(standardScore: middle) < target { low = middle } else { high = middle }
        }
        return high
    }
}
