import Transports

// Time limits on calls. Each is a clock callback racing the work through a `FirstOutcome`, never
// a task sleeping beside it.

/// Runs `body`, failing with ``RPCStatus/Code-swift.struct/deadlineExceeded`` (and cancelling
/// `body`) after `limit` of `clock`'s time. The deadline is a clock callback, not a second task.
func withDeadline<T: Sendable>(
    _ limit: Duration, on clock: any NetworkClock, _ body: @escaping @Sendable () async throws -> T
) async throws -> T {
    let outcome = FirstOutcome<Result<T, any Error>?>()
    let timer = clock.schedule(at: clock.now.advanced(by: limit)) { outcome.resolve(nil) }
    return try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask {
            do {
                outcome.resolve(.success(try await body()))
            } catch {
                outcome.resolve(.failure(error))
            }
        }
        // Leaving the group waits for `body`; when the deadline won, it is cancelled first.
        defer { group.cancelAll() }
        guard let result = await outcome.value else {
            throw RPCStatus(code: .deadlineExceeded, message: "timed out after \(limit)")
        }
        clock.cancel(timer)
        return try result.get()
    }
}

/// Runs `body`, whose only waits are reads and writes on `stream`, failing with
/// ``RPCStatus/Code-swift.struct/deadlineExceeded`` after `limit` of `clock`'s time. At the
/// deadline the stream is aborted with that code, which ends whatever `body` waits for on it and
/// tells the peer: unlike ``withDeadline(_:on:_:)``, no task is created, which is what a unary
/// call needs (its body only reads the response).
func withDeadline<T: Sendable>(
    _ limit: Duration, on clock: any NetworkClock, aborting stream: TransportStream,
    _ body: () async throws -> T
) async throws -> T {
    let expired = FirstOutcome<Void>()
    let timer = clock.schedule(after: limit) {
        expired.resolve(())
        stream.abort(code: RPCStatus.Code.deadlineExceeded.rawValue)
    }
    defer { clock.cancel(timer) }
    do {
        return try await body()
    } catch  where expired.resolvedValue != nil {
        throw RPCStatus(code: .deadlineExceeded, message: "timed out after \(limit)")
    }
}

/// Runs `operation` in a task of its own and returns its result, or `nil` when `limit` passes
/// on `clock` first; a caller cancelled meanwhile gets `CancellationError` as the result.
///
/// Unlike ``withDeadline(_:on:_:)``, the loser is not waited for. That suits work that cannot
/// be abandoned at once (a handshake some transports cannot cut short, a read on a stream the
/// caller is about to abort), whose result then goes nowhere.
func firstResult<T: Sendable>(
    of operation: @escaping @Sendable () async throws -> T, within limit: Duration, on clock: any NetworkClock
) async -> Result<T, any Error>? {
    let outcome = FirstOutcome<Result<T, any Error>?>()
    let timer = clock.schedule(after: limit) { outcome.resolve(nil) }
    Task {
        do {
            outcome.resolve(.success(try await operation()))
        } catch {
            outcome.resolve(.failure(error))
        }
    }
    let result = await withTaskCancellationHandler {
        await outcome.value
    } onCancel: {
        outcome.resolve(.failure(CancellationError()))
    }
    clock.cancel(timer)
    return result
}
