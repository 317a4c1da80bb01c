import Synchronization

/// A datagram endpoint's receive handler, swappable from any thread and read once per datagram.
///
/// The closure is kept inside a struct on purpose. A bare closure stored in a generic `Mutex` is
/// handed to `withLock` through an `inout` parameter at the generic abstraction level, and reading
/// it there re-wraps it in a pair of reabstraction thunks that are written back: a handler read
/// once per datagram grew a chain of thunks as long as the traffic (in a 100-member simulation,
/// three quarters of the CPU went to walking that chain). A struct field keeps its own
/// representation, so reads copy the closure as it is.
final class DatagramHandlerSlot: Sendable {
    private struct Handler {
        let body: @Sendable (Datagram) -> Void
    }

    private let handler = Mutex<Handler?>(nil)

    /// Installs `body` (or removes the handler with `nil`).
    func set(_ body: (@Sendable (Datagram) -> Void)?) {
        let replacement = body.map(Handler.init)
        handler.withLock { $0 = replacement }
    }

    /// The handler installed now, if any.
    var current: (@Sendable (Datagram) -> Void)? {
        handler.withLock { $0?.body }
    }
}
