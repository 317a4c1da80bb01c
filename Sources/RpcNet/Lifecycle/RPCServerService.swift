public import ServiceLifecycle
public import Transports

/// An ``RPCServer`` serving one listener, as a swift-service-lifecycle `Service`: on graceful
/// shutdown it drains (``RPCServer/shutdown(gracePeriod:)``): no new connection or call, calls
/// in flight finish within the grace period, then every connection closes.
public struct RPCServerService: Service {
    /// The server.
    public let server: RPCServer
    /// Where it accepts connections.
    public let listener: any ConnectionListener
    /// How long calls in flight may run on after shutdown begins.
    public let gracePeriod: Duration

    /// A service serving `server` on `listener`, draining for up to `gracePeriod`.
    public init(server: RPCServer, listener: any ConnectionListener, gracePeriod: Duration = .seconds(10)) {
        self.server = server
        self.listener = listener
        self.gracePeriod = gracePeriod
    }

    /// Serves until graceful shutdown, then drains; cancelled, it closes every connection at
    /// once.
    public func run() async throws {
        let server = server
        let gracePeriod = gracePeriod
        await withGracefulShutdownHandler {
            await withTaskCancellationHandler {
                await server.serve(listener)
            } onCancel: {
                Task { await server.shutdown(gracePeriod: .zero) }
            }
        } onGracefulShutdown: {
            Task { await server.shutdown(gracePeriod: gracePeriod) }
        }
    }
}
