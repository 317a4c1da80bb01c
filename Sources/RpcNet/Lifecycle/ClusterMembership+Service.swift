public import ServiceLifecycle

/// A membership as a swift-service-lifecycle `Service`: put it in a `ServiceGroup` after the
/// services it gossips over (the reactor, the server whose endpoint carries it), so that on
/// SIGINT or SIGTERM it shuts down first: others stop sending work here before the server
/// drains.
extension ClusterMembership: Service {
    /// Starts taking part (joining through the configured seeds, see
    /// ``Configuration/seeds``), and on graceful shutdown leaves: others see it at once
    /// rather than after failure detection. Cancelled instead, it stops without a word.
    public func run() async throws {
        start()
        do {
            try await gracefulShutdown()
        } catch {
            shutdown()
            return
        }
        await leave()
    }
}
