import Logging
import Transports

// Accepting connections and their streams; ending calls the server will not run.
extension RPCServer {
    /// Accepts connections from `listener` and serves their calls until the listener closes or
    /// the server shuts down.
    public func serve(_ listener: any ConnectionListener) async {
        let accepted = state.withLock { state in
            guard state.accepting else { return false }
            state.listeners.append(listener)
            return true
        }
        guard accepted else { return }
        await withDiscardingTaskGroup { group in
            while let connection = await next("connection", from: listener.accept, peer: listener.localAddress) {
                group.addTask { await self.serve(connection: connection) }
            }
        }
    }

    private func serve(connection: any TransportConnection) async {
        let key = ObjectIdentifier(connection)
        let calls = ConnectionCalls()
        let admitted = state.withLock { state in
            guard state.accepting else { return false }
            state.connections[key] = (connection, calls)
            return true
        }
        guard admitted else {
            connection.close(code: 0, message: Self.drainMessage)
            return
        }
        let executor = Self.callExecutor(for: connection)
        await withTaskCancellationHandler {
            while let stream = await next("stream", from: connection.acceptStream, peer: connection.remoteAddress) {
                let slot = CallSlot(calls: calls)
                guard slot.admitted(limit: configuration.maxConcurrentCallsPerConnection) else {
                    refuse(stream, status: RPCStatus(code: .resourceExhausted, message: "too many concurrent calls"))
                    slot.release()
                    continue
                }
                calls.start(on: executor) { id in
                    await self.serve(stream: stream, connection: connection, slot: slot) { calls.cancel(id) }
                    slot.release()
                } ended: { remaining in
                    // Draining: a connection whose last call ended is closed, so its client
                    // goes elsewhere now rather than at the end of the grace period.
                    if remaining == 0, !self.isAccepting { connection.close(code: 0, message: Self.drainMessage) }
                }
            }
            await calls.waitUntilIdle()
        } onCancel: {
            calls.cancelAll()
        }
        state.withLock { _ = $0.connections.removeValue(forKey: key) }
    }

    /// Where a connection's call tasks run: on the connection's reactor when the task serving it
    /// runs there (a server started with that executor preference), so a call costs no thread
    /// hop; otherwise on the global executor, as any task without a preference.
    private static func callExecutor(for connection: any TransportConnection) -> (any TaskExecutor)? {
        guard let preferred = connection.preferredExecutor else { return nil }
        let current = withUnsafeCurrentTask { $0?.unownedTaskExecutor }
        return current == preferred.asUnownedTaskExecutor() ? preferred : nil
    }

    /// Why a draining server closes a connection, as its client sees it.
    static let drainMessage = "server shutting down"

    /// Whether the server still takes new connections and calls (false once a drain began).
    var isAccepting: Bool { state.withLock { $0.accepting } }

    /// The next item from an accept loop, or nil when it ended; an error ending it is logged
    /// rather than dropped.
    private func next<Item>(_ what: String, from accept: () async throws -> Item?, peer: SocketAddress) async -> Item? {
        do {
            return try await accept()
        } catch {
            logger.debug("stopped accepting \(what)s", metadata: ["peer": "\(peer)", "error": "\(error)"])
            return nil
        }
    }

    /// Ends a call the server will not run: the TRAILER with `status` and the end of the stream,
    /// queued at once whatever the peer reads, then STOP_SENDING with the status code when the
    /// request side is still open, so a caller still sending is not left blocked on flow control
    /// (docs/PROTOCOL.md §4.5).
    func refuse(_ stream: TransportStream, status: RPCStatus) {
        conclude(stream, status: status)
    }

    /// Sends the trailer for `status` and stops the request side.
    func conclude(_ stream: TransportStream, status: RPCStatus, metadata: Metadata = Metadata()) {
        do {
            try stream.writeFinal(Frame.trailer(Trailer(status: status, metadata: metadata)).encoded)
        } catch {
            logger.debug("could not send trailer", metadata: ["status": "\(status)", "error": "\(error)"])
        }
        stream.stopSending(code: status.code.rawValue)
    }
}
