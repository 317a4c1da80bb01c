import Testing

@testable import RpcNet

@Suite("Phi Accrual failure detector")
struct PhiAccrualDetectorTests {
    /// A detector that heard a member every second, `beats` times, the last at 100 s.
    private func regular(beats: Int = 20) -> PhiAccrualDetector {
        var detector = PhiAccrualDetector(
            window: 100, minStandardDeviation: .milliseconds(100), acceptablePause: .milliseconds(500))
        for beat in 0..<beats { detector.heard(at: at(100 - Double(beats - 1 - beat))) }
        return detector
    }

    private func at(_ seconds: Double) -> MonotonicInstant {
        MonotonicInstant(nanoseconds: UInt64(seconds * 1e9))
    }

    @Test("no φ until two intervals were seen")
    func needsSamples() {
        var detector = PhiAccrualDetector(
            window: 100, minStandardDeviation: .milliseconds(100), acceptablePause: .milliseconds(500))
        detector.heard(at: at(1))
        detector.heard(at: at(2))
        #expect(detector.phi(at: at(3)) == nil)
        #expect(detector.crossing(standardScore: 5) == nil)
        detector.heard(at: at(3))
        #expect(detector.phi(at: at(4)) != nil)
    }

    @Test("φ stays low through the usual interval and the acceptable pause, then climbs past 8")
    func climbsWithSilence() throws {
        let detector = regular()
        let usual = try #require(detector.phi(at: at(101)))
        let paused = try #require(detector.phi(at: at(101.5)))
        let long = try #require(detector.phi(at: at(102.5)))
        #expect(usual < 0.5)
        // At mean + pause φ is −log10(½); regular beats make the deviation the 100 ms floor.
        #expect(abs(paused - 0.301) < 0.01)
        #expect(long > 8)
        #expect(usual < paused && paused < long)
    }

    @Test("the crossing is the instant φ reaches the threshold")
    func crossing() throws {
        let detector = regular()
        let score = PhiAccrualDetector.standardScore(atPhi: 8)
        #expect(abs(PhiAccrualDetector.phi(standardScore: score) - 8) < 1e-9)
        let crossing = try #require(detector.crossing(standardScore: score))
        let before = try #require(detector.phi(at: crossing.advanced(by: .milliseconds(-5))))
        // At the crossing itself, not a rounding error short: a check made then must fire.
        let after = try #require(detector.phi(at: crossing))
        #expect(before < 8 && after >= 8, "φ \(before) before and \(after) after \(crossing)")
    }

    @Test("irregular arrivals widen the distribution, so the same silence means less")
    func irregularArrivalsAreTolerated() throws {
        var jittery = PhiAccrualDetector(
            window: 100, minStandardDeviation: .milliseconds(100), acceptablePause: .milliseconds(500))
        var time = 50.0
        for beat in 0..<40 {
            time += beat.isMultiple(of: 2) ? 0.4 : 1.6
            jittery.heard(at: at(time))
        }
        var regular = PhiAccrualDetector(
            window: 100, minStandardDeviation: .milliseconds(100), acceptablePause: .milliseconds(500))
        for beat in 0..<40 { regular.heard(at: at(time - 39 + Double(beat))) }
        let silence = at(time + 2)
        #expect(try #require(jittery.phi(at: silence)) < #require(regular.phi(at: silence)))
    }
}
