import Transports

// The race that ends a running call: its handler against the caller aborting, the deadline
// and the request timeout.
extension RPCServer {
    /// How a call ended, whichever came first.
    fileprivate enum Outcome: Sendable {
        case finished(RPCStatus)
        /// The caller reset the stream or stopped reading it, with this code (a status code:
        /// `cancelled`, or `deadlineExceeded` when the caller's own deadline passed first).
        case callerAborted(code: UInt64?)
        case deadlineExceeded
        case requestTimedOut(after: Duration)
        /// Ended while waiting for its request, to make room for newer calls (``WaitingRoom``).
        case evicted

        /// Whether the handler ended the call (rather than something cutting it short).
        var isFinished: Bool {
            if case .finished = self { return true }
            return false
        }

        /// The call's status: what the trailer carries, or what interceptors are told when the
        /// stream was reset instead.
        var status: RPCStatus {
            switch self {
            case .finished(let status): status
            case .callerAborted(let code) where code == RPCStatus.Code.deadlineExceeded.rawValue:
                RPCStatus(code: .deadlineExceeded, message: "the caller's deadline passed")
            case .callerAborted: RPCStatus(code: .cancelled, message: "the caller cancelled the call")
            case .deadlineExceeded: RPCStatus(code: .deadlineExceeded, message: "deadline exceeded on the server")
            case .evicted:
                RPCStatus(
                    code: .resourceExhausted, message: "ended while waiting for its request: too many calls waiting")
            case .requestTimedOut(let limit):
                RPCStatus(
                    code: .deadlineExceeded,
                    message: "the request did not arrive within \(limit) of the call header")
            }
        }
    }

    /// Races the handler against the caller aborting, the deadline and (for single-request
    /// methods whose request is not all here) the request timeout, and ends the call on the wire
    /// as soon as the first of them happens: the handler may still be unwinding from its
    /// cancellation, but nothing it writes afterwards reaches the caller. The handler runs
    /// inline, in the call's own task, which `cancelHandler` cancels; the others are callbacks
    /// (the stream's abort, the clock's timers), so a call costs one task.
    func run(
        _ handler: MethodHandler, on stream: TransportStream, reader: FrameReader, context: ServerContext,
        connection: ObjectIdentifier, slot: CallSlot, cancelHandler: @escaping @Sendable () -> Void
    ) async {
        let first = FirstOutcome<Outcome>()
        // Whoever ends the call first ends it on the wire there and then: a handler's trailer is
        // queued right behind its last response, so both leave in one packet. Ending it early
        // cancels the handler.
        let end: @Sendable (Outcome) -> Void = { outcome in
            let won = first.resolve(outcome) {
                self.conclude(stream, outcome: outcome, metadata: context.trailingMetadata)
                slot.release()
            }
            if won, !outcome.isFinished { cancelHandler() }
        }
        let deadlineTimer = context.deadline.map { deadline in
            clock.schedule(at: deadline) { end(.deadlineExceeded) }
        }
        let ticket: UInt64?
        let requestTimer: ScheduledTimer?
        // A request already complete (the usual case: header, message and FIN in one packet)
        // neither waits nor needs a timer.
        let awaitsRequest: Bool
        if case .singleRequest = handler { awaitsRequest = !stream.isReceiveComplete } else { awaitsRequest = false }
        if awaitsRequest {
            guard let entered = waitingRoom.enter(connection: connection, evict: { end(.evicted) }) else {
                if let deadlineTimer { clock.cancel(deadlineTimer) }
                conclude(
                    stream,
                    status: RPCStatus(code: .resourceExhausted, message: "too many calls waiting for their request"))
                return
            }
            ticket = entered
        } else {
            ticket = nil
        }
        if awaitsRequest {
            let limit = configuration.requestTimeout
            requestTimer = clock.schedule(at: clock.now.advanced(by: limit)) { end(.requestTimedOut(after: limit)) }
        } else {
            requestTimer = nil
        }
        defer {
            if let ticket { waitingRoom.leave(ticket) }
            if let deadlineTimer { clock.cancel(deadlineTimer) }
            if let requestTimer { clock.cancel(requestTimer) }
        }
        // The caller going away ends the call through the stream, not a task watching it. The
        // abort is learnt inside the transport's packet processing, so the stream itself is shut
        // from this task, once the handler returned, rather than re-entrantly from there.
        stream.whenAborted { abort in
            if first.resolve(.callerAborted(code: abort.abortCode), winning: slot.release) { cancelHandler() }
        }
        let call = ServerCall(
            context: context, requests: MessageStream(source: MessageSource(reader: reader, onTrailer: nil)),
            responses: MessageWriter(
                stream: stream, limits: configuration.limits, deadline: context.deadline, clock: clock))
        let handled: @Sendable (ServerCall) async throws(RPCStatus) -> Void = { call throws(RPCStatus) in
            do {
                switch handler {
                case .singleRequest(let body):
                    let request = try await Self.singleRequest(call.requests)
                    if let ticket { self.waitingRoom.leave(ticket) }
                    if let requestTimer { self.clock.cancel(requestTimer) }
                    try await body(request, call.responses, call.context)
                case .requestStream(let body):
                    try await body(call.requests, call.responses, call.context)
                }
            } catch {
                // A handler cancelled because the call already ended learns why.
                throw first.resolvedValue?.status ?? Self.status(for: error)
            }
        }
        do throws(RPCStatus) {
            let interceptors = configuration.interceptors
            if interceptors.isEmpty {
                try await handled(call)
            } else {
                try await interceptors.intercept(call, handler: handled)
            }
            end(.finished(.ok))
        } catch {
            end(.finished(error))
        }
        if let outcome = first.resolvedValue, case .callerAborted = outcome {
            conclude(stream, outcome: outcome, metadata: context.trailingMetadata)
        }
    }

    /// Ends the call on the wire for `outcome`, with the call's trailing `metadata`.
    private func conclude(_ stream: TransportStream, outcome: Outcome, metadata: Metadata) {
        switch outcome {
        case .callerAborted:
            stream.abort(code: StreamAbortCode.cancelled)
        case .deadlineExceeded where stream.unsentBytes > 0:
            // Responses queued before the deadline and not yet sent must not leave after it: with
            // any left, the stream is reset with the deadline's code instead of trailing them.
            stream.abort(code: RPCStatus.Code.deadlineExceeded.rawValue)
        case .finished, .deadlineExceeded, .evicted, .requestTimedOut:
            conclude(stream, status: outcome.status, metadata: metadata)
        }
    }

    /// The status a handler's error becomes on the wire.
    static func status(for error: any Error) -> RPCStatus {
        switch error {
        case let status as RPCStatus: status
        case let wire as WireError: wire.status
        case is CancellationError: RPCStatus(code: .cancelled, message: "cancelled")
        case TransportError.streamReset, TransportError.stopSendingRequested:
            RPCStatus(code: .cancelled, message: "\(error)")
        case let transport as TransportError: RPCStatus(code: .unavailable, message: "\(transport)")
        default: RPCStatus(code: .unknown, message: "\(error)")
        }
    }
}

extension TransportError {
    /// The application error code of a peer's RESET_STREAM or STOP_SENDING; `nil` for other errors.
    fileprivate var abortCode: UInt64? {
        switch self {
        case .streamReset(let code), .stopSendingRequested(let code): code
        default: nil
        }
    }
}
