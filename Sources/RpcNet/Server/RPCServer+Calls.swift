import Logging
import Transports

// One call from its header to its trailer: reading the header, finding the handler, admission.
extension RPCServer {
    /// Runs one call from its header to its trailer; `cancelHandler` cancels the task it runs in.
    func serve(
        stream: TransportStream, connection: any TransportConnection, slot: CallSlot,
        cancelHandler: @escaping @Sendable () -> Void
    ) async {
        var reader = FrameReader(stream: stream, limits: configuration.limits)
        let header: CallHeader
        do {
            header = try await readHeader(with: &reader)
        } catch {
            let status = Self.headerFailureStatus(error)
            protocolLog.log(
                .warning, kind: "call header", "unreadable call header",
                metadata: ["peer": "\(connection.remoteAddress)", "error": "\(status.message)"], to: logger)
            refuse(stream, status: status)
            return
        }
        guard let handler = state.withLock({ $0.handlers[header.method] }) else {
            refuse(stream, status: RPCStatus(code: .unimplemented, message: "unknown method \(header.method)"))
            return
        }
        let deadline = header.timeout.map { clock.now.advanced(by: $0) }
        if let deadline, deadline <= clock.now {
            refuse(
                stream, status: RPCStatus(code: .deadlineExceeded, message: "deadline expired before the call started"))
            return
        }
        let holdsDrain: Bool
        switch callStarted(header.method) {
        case .started(let holds): holdsDrain = holds
        case .refused(let status):
            refuse(stream, status: status)
            return
        }
        defer { callEnded(holdingDrain: holdsDrain) }
        let context = ServerContext(
            method: header.method, metadata: header.metadata, deadline: deadline,
            remoteAddress: connection.remoteAddress, peerIdentity: connection.peerIdentity, clock: clock,
            logger: logger, callNumber: callNumbers.add(1, ordering: .relaxed).newValue)
        await run(
            handler, on: stream, reader: reader, context: context, connection: ObjectIdentifier(connection), slot: slot,
            cancelHandler: cancelHandler)
        if !isAccepting { await awaitDelivery(of: stream) }
    }

    /// Reads the call header, waiting at most ``Configuration/callHeaderTimeout`` for it.
    private func readHeader(with reader: inout FrameReader) async throws -> CallHeader {
        // The header nearly always arrives with the stream's first packet: only a caller that is
        // slow to send it costs a timer.
        let first: Frame?
        if let received = try reader.nextIfReceived() {
            first = received
        } else {
            let waited = try await withDeadline(configuration.callHeaderTimeout, on: clock) { [reader] in
                var reader = reader
                return (try await reader.next(), reader)
            }
            (first, reader) = waited
        }
        switch first {
        case .callHeader(let header): return header
        case nil:
            throw WireError.malformed(
                type: FrameType.callHeader.rawValue, reason: "the stream ended before a call header")
        case .some(let frame):
            throw WireError.malformed(type: frame.type.rawValue, reason: "the first frame is not a call header")
        }
    }

    /// The status a call whose header could not be read is refused with.
    private static func headerFailureStatus(_ error: any Error) -> RPCStatus {
        switch error {
        case let status as RPCStatus where status.code == .deadlineExceeded:
            RPCStatus(code: .deadlineExceeded, message: "no call header within the call header timeout")
        case let wire as WireError: wire.status
        default: status(for: error)
        }
    }

    /// While draining, a call's connection may be closed as soon as the call ends, and a close
    /// discards what the peer has not acknowledged: wait (polling, at most a second; draining
    /// only) until the peer acknowledged the call's last bytes.
    private func awaitDelivery(of stream: TransportStream) async {
        for _ in 0..<200 {
            guard stream.bufferedSendBytes > 0 else { return }
            try? await clock.sleep(until: clock.now.advanced(by: .milliseconds(5)), tolerance: nil)
        }
    }
}
