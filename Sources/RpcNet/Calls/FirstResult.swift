import Transports

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
