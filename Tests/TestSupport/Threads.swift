import Foundation
package import Transports

/// Runs `body` with a fresh reactor on its own thread (named `name`) and shuts it down
/// afterwards, whatever happens.
@discardableResult
package func withReactor<T: Sendable>(
    name: String = "test-reactor", _ body: (Reactor) async throws -> T
) async throws -> T {
    let reactor = try Reactor.start(name: name)
    do {
        let result = try await body(reactor)
        await reactor.shutdown()
        return result
    } catch {
        await reactor.shutdown()
        throw error
    }
}

/// Runs blocking `body` on a new thread of its own and returns its result to the calling task
/// without occupying a thread of the cooperative pool (two on the CI machine), where blocking
/// work would starve the tasks it waits for.
package func onOwnThread<T: Sendable, Failure: Error>(
    _ body: @escaping @Sendable () throws(Failure) -> T
) async throws(Failure) -> T {
    let result = await withCheckedContinuation { (continuation: CheckedContinuation<Result<T, Failure>, Never>) in
        Thread { continuation.resume(returning: Result { () throws(Failure) -> T in try body() }) }.start()
    }
    return try result.get()
}
