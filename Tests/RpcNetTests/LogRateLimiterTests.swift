import Logging
import Synchronization
import Testing

@testable import RpcNet

/// Keeps every line logged through it.
final class CapturedLog: Sendable {
    let lines = Mutex<[(message: String, metadata: Logger.Metadata)]>([])

    /// A logger writing here at `level`.
    func logger(level: Logger.Level = .info) -> Logger {
        var logger = Logger(label: "captured") { _ in CapturingHandler(log: self) }
        logger.logLevel = level
        return logger
    }

    private struct CapturingHandler: LogHandler {
        let log: CapturedLog
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        /// Keeps the line with the logger's metadata and the line's own, as a real handler
        /// prints them.
        func log(event: LogEvent) {
            let metadata = metadata.merging(event.metadata ?? [:]) { $1 }
            log.lines.withLock { $0.append(("\(event.message)", metadata)) }
        }
    }
}

@Suite("Rate-limited logging")
struct LogRateLimiterTests {
    @Test("a flood of one kind logs one line per interval, then says how many were left out")
    func floodIsSummarised() {
        let clock = VirtualClock()
        let captured = CapturedLog()
        let logger = captured.logger()
        let limiter = LogRateLimiter(interval: .seconds(10), clock: clock)
        for _ in 0..<2000 {
            limiter.log(.warning, kind: "header", "unreadable call header", metadata: [:], to: logger)
        }
        limiter.log(.warning, kind: "other", "another kind", metadata: [:], to: logger)
        #expect(captured.lines.withLock { $0.map(\.message) } == ["unreadable call header", "another kind"])
        clock.advance(by: .seconds(10))
        limiter.log(.warning, kind: "header", "unreadable call header", metadata: [:], to: logger)
        let last = captured.lines.withLock { $0.last }
        #expect(last?.metadata["suppressed"] == "1999")
    }

    @Test("two thousand malformed streams produce one warning from the server")
    func serverWarningsAreRateLimited() async throws {
        let captured = CapturedLog()
        try await withRawServer(
            logger: captured.logger(level: .warning), setup: { _ in }
        ) { _, raw, _ in
            for _ in 0..<2000 {
                let stream = try await raw.openStream()
                try await stream.write([0x7F, 0x00], finish: true)
                _ = try? await stream.readAll(limit: 1024)
            }
        }
        #expect(captured.lines.withLock { $0.count } == 1)
    }
}
