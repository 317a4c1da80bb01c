import AsyncAlgorithms

/// The responses of a streaming call as an `AsyncSequence` that can be returned and iterated
/// later, for code that prefers a sequence to the scoped body the call kinds take.
///
/// The call starts when iteration starts (the first `next()`), in a task of its own that hands
/// each response over only when the consumer asks for the next one, so backpressure reaches the
/// server as with a body. Iteration ends with the call: normally, or by throwing its error.
/// An iterator dropped before the end cancels the call. Iterate it once per call wanted: each
/// iteration makes its own call.
public struct ResponseSequence<Element: Sendable>: AsyncSequence, Sendable {
    /// Runs the call, delivering each response; returns when the call has ended.
    typealias Run = @Sendable (_ deliver: @escaping @Sendable (Element) async -> Void) async throws -> Void

    private let run: Run

    init(_ run: @escaping Run) {
        self.run = run
    }

    public func makeAsyncIterator() -> Iterator {
        Iterator(run: run)
    }

    /// Starts the call on the first `next()` and yields its responses.
    public struct Iterator: AsyncIteratorProtocol {
        private let run: Run
        private var call: Call?

        init(run: @escaping Run) {
            self.run = run
        }

        public mutating func next() async throws -> Element? {
            if call == nil { call = Call(run: run) }
            return try await call!.next()
        }
    }

    /// One running call: its task, and the channel that hands responses to the consumer one at
    /// a time. Cancels the task when the iterator that owns it goes away.
    private final class Call: Sendable {
        private let responses = AsyncThrowingChannel<Element, any Error>()
        private let task: Task<Void, Never>

        init(run: @escaping Run) {
            let responses = responses
            task = Task {
                do {
                    try await run { await responses.send($0) }
                    responses.finish()
                } catch {
                    responses.fail(error)
                }
            }
        }

        deinit {
            task.cancel()
        }

        func next() async throws -> Element? {
            var iterator = responses.makeAsyncIterator()
            return try await iterator.next()
        }
    }
}
