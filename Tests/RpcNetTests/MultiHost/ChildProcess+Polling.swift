import ClusterExample
import Foundation

/// Waits on a condition by polling it with `Task.sleep` (no blocked thread: the cooperative pool
/// has two on CI). Returns whether it held within `limit`; throws `CancellationError` when the
/// test is cancelled (its time limit), so the lab's teardown runs at once.
func poll(within limit: Duration, until condition: () -> Bool) async throws -> Bool {
    let clock = ContinuousClock()
    let deadline = clock.now.advanced(by: limit)
    while true {
        if condition() { return true }
        if clock.now >= deadline { return false }
        try await Task.sleep(for: .milliseconds(20))
    }
}

/// Waits for what a lab's processes print and for their exit.
extension ChildProcess {
    /// Whether a line containing `text` has been printed, or is within `limit`.
    func shows(_ text: String, within limit: Duration) async throws -> Bool {
        try await poll(within: limit) { first { $0.contains(text) } != nil }
    }

    /// The exit status, or nil if the process still runs after `limit`.
    func exitStatus(within limit: Duration) async throws -> Int32? {
        _ = try await poll(within: limit) { !isRunning }
        return exitStatus
    }
}
