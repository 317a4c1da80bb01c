import Dispatch
import Foundation

/// Waits for SIGINT (Ctrl+C) or SIGTERM, so a process can leave the cluster before it exits.
public final class TerminationSignal: @unchecked Sendable {
    private var sources: [any DispatchSourceSignal] = []
    private let stream: AsyncStream<Void>
    private let continuation: AsyncStream<Void>.Continuation

    public init() {
        (stream, continuation) = AsyncStream.makeStream(of: Void.self)
        for number in [SIGINT, SIGTERM] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { [continuation] in continuation.yield() }
            source.resume()
            sources.append(source)
        }
    }

    /// Returns at the first signal.
    public func wait() async {
        for await _ in stream { return }
    }
}
