import Logging
import Synchronization
import Transports

/// Lets through at most one log line per kind of event per interval, so a peer that sends a
/// flood of bad input cannot turn it into a flood of log: the next line that gets through says
/// how many of its kind were left out.
final class LogRateLimiter: Sendable {
    private struct Window {
        var openedAt: MonotonicInstant
        var suppressed: Int
    }

    private let interval: Duration
    private let clock: any NetworkClock
    private let windows = Mutex<[String: Window]>([:])

    /// One line per `kind` per `interval` (on `clock`).
    init(interval: Duration = .seconds(10), clock: any NetworkClock) {
        self.interval = interval
        self.clock = clock
    }

    /// Logs `message` at `level` unless a line of the same `kind` was logged less than the
    /// interval ago; a line that gets through carries `suppressed` (lines left out since the
    /// last one) when it is not zero.
    func log(
        _ level: Logger.Level, kind: String, _ message: @autoclosure () -> Logger.Message,
        metadata: @autoclosure () -> Logger.Metadata, to logger: Logger
    ) {
        guard logger.logLevel <= level else { return }
        let now = clock.now
        let suppressed: Int? = windows.withLock { windows in
            if let window = windows[kind], window.openedAt.duration(to: now) < interval {
                windows[kind]?.suppressed += 1
                return nil
            }
            // Kinds are a fixed set of call sites, so this map stays small.
            defer { windows[kind] = Window(openedAt: now, suppressed: 0) }
            return windows[kind]?.suppressed ?? 0
        }
        guard let suppressed else { return }
        var metadata = metadata()
        if suppressed > 0 { metadata["suppressed"] = "\(suppressed)" }
        logger.log(level: level, message(), metadata: metadata)
    }
}
