public import ServiceLifecycle
public import Transports

/// A ``/Transports/Reactor`` as a swift-service-lifecycle `Service`: put it first in a `ServiceGroup`, so
/// it shuts down last, after the services whose sockets it owns; its shutdown closes whatever
/// is still open.
public struct ReactorService: Service {
    /// The reactor.
    public let reactor: Reactor

    /// A service that shuts `reactor` down on graceful shutdown or cancellation.
    public init(_ reactor: Reactor) {
        self.reactor = reactor
    }

    /// Waits for graceful shutdown (or cancellation), then shuts the reactor down.
    public func run() async throws {
        try? await gracefulShutdown()
        await reactor.shutdown()
    }
}
