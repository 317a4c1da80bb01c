import ClusterExample
import Foundation

/// A line a lab process printed, with the instant it arrived (``LabClock``).
typealias OutputLine = (at: UInt64, text: String)

/// One token a client received, from its `📦 received token (sequence=…) from <label>` line.
struct ReceivedToken: Sendable {
    /// When the line arrived (``LabClock``).
    let at: UInt64
    /// The token's sequence number.
    let sequence: UInt64
    /// The label of the worker that produced it.
    let worker: String
}

/// Finding, waiting for and timing what a lab's processes print.
extension ChildProcess {
    /// The first line after `since` (a ``LabClock`` instant) that matches `predicate`, waited for
    /// up to `limit`; nil if none came.
    func line(
        after since: UInt64 = 0, within limit: Duration, where predicate: (String) -> Bool
    ) async throws -> OutputLine? {
        var found: OutputLine?
        _ = try await poll(within: limit) {
            found = first(after: since, where: predicate)
            return found != nil
        }
        return found
    }

    /// The tokens a client received so far, in the order their lines arrived.
    var receivedTokens: [ReceivedToken] {
        all { $0.contains("received token (sequence=") }.compactMap { line in
            guard let sequenceStart = line.text.range(of: "sequence=")?.upperBound,
                let workerStart = line.text.range(of: ") from ", options: .backwards)?.upperBound,
                let sequence = UInt64(line.text[sequenceStart...].prefix { $0.isNumber })
            else { return nil }
            return ReceivedToken(at: line.at, sequence: sequence, worker: String(line.text[workerStart...]))
        }
    }

    /// How many times a client gave up on a worker (its `⚠️  worker … failed (…)` lines).
    var failovers: Int {
        all { $0.contains("⚠️  worker ") && $0.contains(" failed (") }.count
    }

    /// The longest silence between two consecutive tokens a client received, in seconds; nil
    /// with fewer than two tokens.
    var longestTokenGap: Double? {
        zip(receivedTokens, receivedTokens.dropFirst()).map { LabClock.seconds(from: $0.at, to: $1.at) }.max()
    }

    /// The client's silence across its failover away from `victim`: from the last token
    /// `victim` produced to the first one from another worker after it, in seconds; nil if
    /// either is missing.
    func tokenGap(leaving victim: String) -> Double? {
        let tokens = receivedTokens
        guard let last = tokens.last(where: { $0.worker == victim }),
            let next = tokens.first(where: { $0.at >= last.at && $0.worker != victim })
        else { return nil }
        return LabClock.seconds(from: last.at, to: next.at)
    }
}

/// The clock ``ChildProcess`` stamps its lines with: uptime nanoseconds.
enum LabClock {
    /// Now.
    static var now: UInt64 { DispatchTime.now().uptimeNanoseconds }

    /// The seconds from `start` to `end` (negative if `end` is earlier).
    static func seconds(from start: UInt64, to end: UInt64) -> Double {
        Double(Int64(bitPattern: end &- start)) / 1e9
    }

    /// The seconds from `start` to now.
    static func seconds(since start: UInt64) -> Double {
        seconds(from: start, to: now)
    }
}

extension Duration {
    /// The duration in seconds.
    var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
