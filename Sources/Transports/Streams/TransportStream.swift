import DequeModule

/// What a transport does for its streams: the transport-specific half of a ``TransportStream``.
///
/// Calls arrive from any thread; an implementation that owns loop-confined state (QUIC) hops to
/// its reactor, coalescing wake-ups.
protocol StreamDriver: AnyObject, Sendable {
    /// New bytes or a FIN were queued on `stream` while it had nothing pending.
    func streamHasDataToSend(_ stream: TransportStream)
    /// The reader consumed `bytes`: flow-control credit may be handed back to the peer.
    func stream(_ stream: TransportStream, consumed bytes: Int)
    /// The application aborted sending with `code` (RESET_STREAM).
    func stream(_ stream: TransportStream, reset code: UInt64)
    /// The application aborted receiving with `code` (STOP_SENDING).
    func stream(_ stream: TransportStream, stopSending code: UInt64)
}

/// One bidirectional, ordered, reliable, flow-controlled byte stream of a connection.
///
/// Reading hands flow-control credit back to the peer only as bytes are consumed, so a reader that
/// stops reading stops the sender. Writing buffers at most ``sendBufferLimit`` unacknowledged bytes
/// (and what the connection's ``SendBudget`` allows) and suspends the writer beyond that. One
/// reader and any number of writers may use a stream concurrently. A `write` is atomic: its bytes
/// are queued all at once, in the order the calls got their turn, or not at all (when it fails or
/// its task is cancelled while waiting for room), so a frame written in one call is never cut
/// short or interleaved with another writer's.
public final class TransportStream: Sendable {
    /// The stream's identifier within its connection (the QUIC stream ID).
    public let id: Int64
    /// Unacknowledged bytes the stream holds before a writer is suspended.
    public let sendBufferLimit: Int

    private let driver: any StreamDriver
    private let budget: SendBudget?
    private let state: Locked<State>

    private struct Waiter {
        let id: UInt64
        let continuation: CheckedContinuation<Void, any Error>
    }

    private struct State: ~Copyable {
        // Receive half.
        var received: Deque<[UInt8]> = []
        var readIndex = 0
        var receivedBytes = 0
        var finReceived = false
        var receiveError: TransportError?
        var reader: Waiter?
        // Send half.
        var send = SendBuffer()
        var finQueued = false
        var finSent = false
        var sendError: TransportError?
        var writers: Deque<Waiter> = []
        /// Counts events that may let a waiting writer proceed (acknowledgements, budget
        /// released, failures), so a writer never sleeps through one that happened while it
        /// was deciding to wait.
        var sendEvents: UInt64 = 0
        var nextWaiterID: UInt64 = 0
        // Aborts by the peer or the connection.
        var abort: TransportError?
        var abortActions: [@Sendable (TransportError) -> Void] = []
        // Whole `write` calls take turns, so concurrent writers never interleave their bytes.
        var writing = false
        var turnWaiters: Deque<Waiter> = []

        /// Fails the send half with `error`, dropping unsent bytes; returns how many bytes that
        /// gave back to the budget.
        mutating func failSend(_ error: TransportError) -> Int {
            sendError = error
            let before = send.buffered
            send.discardUnsent()
            return before - send.buffered
        }
    }

    /// Received pieces smaller than this are appended to the previous one.
    private static let coalescingLimit = 16 * 1024

    init(id: Int64, sendBufferLimit: Int, budget: SendBudget? = nil, driver: any StreamDriver) {
        self.id = id
        self.sendBufferLimit = max(sendBufferLimit, 1)
        self.budget = budget
        self.driver = driver
        state = Locked(State())
    }

    deinit {
        budget?.release(state.withLock { $0.send.buffered }, for: self)
    }

    // MARK: Reading

    /// Returns the next bytes received, at most `maxLength`; `nil` once the peer finished the
    /// stream and everything was read. Throws ``TransportError/streamReset(code:)`` when the peer
    /// reset it, ``TransportError/connectionClosed(_:)`` when the connection ended first, and
    /// `CancellationError` when the calling task is cancelled while waiting.
    public func read(maxLength: Int = .max) async throws -> [UInt8]? {
        while true {
            switch try readNow(maxLength: maxLength) {
            case .bytes(let chunk): return chunk
            case .end: return nil
            case .empty: try await suspend(asReader: true)
            }
        }
    }

    /// What ``readNow(maxLength:)`` found.
    public enum ImmediateRead: Sendable, Equatable {
        /// Bytes received and not read before.
        case bytes([UInt8])
        /// The peer finished the stream and everything was read.
        case end
        /// Nothing yet: ``read(maxLength:)`` would wait.
        case empty
    }

    /// Takes what ``read(maxLength:)`` would return without waiting, so a caller can skip
    /// setting up a timeout when the bytes are already here. Throws as ``read(maxLength:)`` does.
    public func readNow(maxLength: Int = .max) throws(TransportError) -> ImmediateRead {
        precondition(maxLength > 0, "maxLength must be positive")
        let outcome: ImmediateRead = try state.withLock { state throws(TransportError) in
            if let first = state.received.first {
                let available = first.count - state.readIndex
                let chunk: [UInt8]
                if state.readIndex == 0, available <= maxLength {
                    chunk = first
                    state.received.removeFirst()
                } else {
                    let n = min(available, maxLength)
                    chunk = Array(first[state.readIndex..<state.readIndex + n])
                    state.readIndex += n
                    if state.readIndex == first.count {
                        state.received.removeFirst()
                        state.readIndex = 0
                    }
                }
                state.receivedBytes -= chunk.count
                return .bytes(chunk)
            }
            if let error = state.receiveError { throw error }
            return state.finReceived ? .end : .empty
        }
        if case .bytes(let chunk) = outcome { driver.stream(self, consumed: chunk.count) }
        return outcome
    }

    /// Reads until the peer finishes the stream and returns everything, failing with
    /// ``TransportError/messageTooLarge(size:limit:)`` past `limit` bytes.
    public func readAll(limit: Int) async throws -> [UInt8] {
        var all: [UInt8] = []
        while let chunk = try await read() {
            guard all.count + chunk.count <= limit else {
                throw TransportError.messageTooLarge(size: all.count + chunk.count, limit: limit)
            }
            all.append(contentsOf: chunk)
        }
        return all
    }

    /// Whether the peer has finished its side and all of it has arrived (some may be unread).
    public var isReceiveComplete: Bool {
        state.withLock { $0.finReceived }
    }

    /// Bytes received and not yet read.
    public var bufferedReceiveBytes: Int {
        state.withLock { $0.receivedBytes }
    }

    // MARK: Writing

    /// Queues `bytes` for sending, all at once: suspends until the stream holds few enough
    /// unacknowledged bytes for them to fit within ``sendBufferLimit`` (or holds none) and the
    /// connection's budget has room; with `finish`, ends the stream after them. Zero bytes are
    /// legal. When it throws, nothing was queued.
    public func write(_ bytes: [UInt8], finish: Bool = false) async throws {
        // The common case, no other writer and room for the bytes, costs one lock: the turn is
        // taken only by a writer that has to wait.
        if case .queued(let notify) = try attemptWrite(bytes, finish: finish, takingFreeTurn: true) {
            if notify { driver.streamHasDataToSend(self) }
            return
        }
        try await acquireWriteTurn()
        defer { releaseWriteTurn() }
        while true {
            let outcome = try attemptWrite(bytes, finish: finish, takingFreeTurn: false)
            switch outcome {
            case .queued(let notify):
                if notify { driver.streamHasDataToSend(self) }
                return
            case .wait(let events, let shed):
                shed?.shed()
                try await suspendWriter(seen: events)
            case .turnTaken:
                preconditionFailure("a writer holding the turn found it taken")
            }
        }
    }

    /// Queues `bytes` and the end of the stream at once, beyond ``sendBufferLimit`` and the
    /// budget: for a final frame of bounded size (an RPC trailer) that must not wait behind a
    /// peer that does not read. Later writes fail with ``TransportError/streamClosedLocally``.
    public func writeFinal(_ bytes: [UInt8]) throws(TransportError) {
        let notify: Bool = try state.withLock { state throws(TransportError) in
            if let error = state.sendError { throw error }
            if state.finQueued { throw TransportError.streamClosedLocally }
            budget?.charge(bytes.count, for: self)
            return Self.queue(bytes, finish: true, in: &state)
        }
        if notify { driver.streamHasDataToSend(self) }
    }

    private enum WriteAttempt {
        case queued(notify: Bool)
        case wait(events: UInt64, shed: SendBudget?)
        /// Another writer holds the turn (only when `takingFreeTurn`).
        case turnTaken
    }

    /// Queues `bytes` if they fit now. With `takingFreeTurn`, only when no writer holds or
    /// waits for the turn (the caller holds none); otherwise the caller holds the turn.
    private func attemptWrite(_ bytes: [UInt8], finish: Bool, takingFreeTurn: Bool) throws(TransportError)
        -> WriteAttempt
    {
        try state.withLock { state throws(TransportError) in
            if takingFreeTurn, state.writing { return .turnTaken }
            if let error = state.sendError { throw error }
            if state.finQueued { throw TransportError.streamClosedLocally }
            let buffered = state.send.buffered
            guard buffered == 0 || buffered + bytes.count <= sendBufferLimit else {
                return .wait(events: state.sendEvents, shed: nil)
            }
            if let budget, !bytes.isEmpty, case .denied(let shed) = budget.reserve(bytes.count, for: self) {
                return .wait(events: state.sendEvents, shed: shed)
            }
            return .queued(notify: Self.queue(bytes, finish: finish, in: &state))
        }
    }

    /// Appends `bytes` (already charged to the budget); returns whether the driver must be told.
    private static func queue(_ bytes: [UInt8], finish: Bool, in state: inout State) -> Bool {
        let wasIdle = state.send.unsent == 0
        bytes.withUnsafeBytes { state.send.append($0) }
        if finish { state.finQueued = true }
        return wasIdle && (!bytes.isEmpty || finish)
    }

    /// Ends the sending half after the bytes already queued (QUIC FIN).
    public func finish() async throws {
        try await write([], finish: true)
    }

    /// Bytes queued and not yet acknowledged by the peer.
    public var bufferedSendBytes: Int {
        state.withLock { $0.send.buffered }
    }

    /// Bytes queued and not yet handed to the transport (still within this process).
    public var unsentBytes: Int {
        state.withLock { $0.sendError == nil ? $0.send.unsent : 0 }
    }

    /// Waits until no other `write` call is in progress. A turn is handed directly to the next
    /// waiter, so a cancelled waiter either never got it or gets it and releases it.
    private func acquireWriteTurn() async throws {
        let id: UInt64? = state.withLock { state in
            if !state.writing {
                state.writing = true
                return nil
            }
            state.nextWaiterID += 1
            return state.nextWaiterID
        }
        guard let id else { return }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let outcome: Result<Void, CancellationError>? = state.withLock { state in
                    if !state.writing {
                        state.writing = true
                        return .success(())
                    }
                    if Task.isCancelled { return .failure(CancellationError()) }
                    state.turnWaiters.append(Waiter(id: id, continuation: continuation))
                    return nil
                }
                if let outcome { continuation.resume(with: outcome) }
            }
        } onCancel: {
            let waiter: Waiter? = state.withLock { state in
                state.turnWaiters.firstIndex { $0.id == id }.map { state.turnWaiters.remove(at: $0) }
            }
            waiter?.continuation.resume(throwing: CancellationError())
        }
    }

    private func releaseWriteTurn() {
        let next: Waiter? = state.withLock { state in
            if let next = state.turnWaiters.popFirst() { return next }
            state.writing = false
            return nil
        }
        next?.continuation.resume()
    }

    // MARK: Aborting

    /// Abandons sending: unsent bytes are dropped and the peer's reads fail with
    /// ``TransportError/streamReset(code:)`` (QUIC RESET_STREAM).
    public func reset(code: UInt64) {
        let freed: Int? = state.withLock { state in
            guard state.sendError == nil, !(state.finSent && state.send.buffered == 0) else { return nil }
            return state.failSend(.streamClosedLocally)
        }
        guard let freed else { return }
        wakeAll()
        budget?.release(freed, for: self)
        driver.stream(self, reset: code)
    }

    /// Abandons receiving: buffered bytes are dropped and the peer's writes fail with
    /// ``TransportError/stopSendingRequested(code:)`` (QUIC STOP_SENDING).
    public func stopSending(code: UInt64) {
        let discarded: Int? = state.withLock { state in
            guard state.receiveError == nil, !state.finReceived || state.receivedBytes > 0 else { return nil }
            state.receiveError = .streamClosedLocally
            let discarded = state.receivedBytes
            state.received.removeAll()
            state.readIndex = 0
            state.receivedBytes = 0
            return discarded
        }
        guard let discarded else { return }
        wakeAll()
        if discarded > 0 { driver.stream(self, consumed: discarded) }
        driver.stream(self, stopSending: code)
    }

    // MARK: Transport side

    /// Appends bytes that arrived from the peer. Returns how many bytes were dropped because the
    /// application stopped reading; the transport credits those at once.
    func deliver(_ bytes: UnsafeRawBufferPointer, fin: Bool) -> Int {
        let (dropped, reader): (Int, Waiter?) = state.withLock { state in
            if fin { state.finReceived = true }
            if state.receiveError != nil { return (bytes.count, nil) }
            if !bytes.isEmpty {
                // Small deliveries join the last chunk, so a peer sending tiny frames cannot make
                // us hold an allocation per byte of its window.
                if bytes.count < Self.coalescingLimit, let last = state.received.indices.last,
                    state.received[last].count < Self.coalescingLimit
                {
                    state.received[last].append(contentsOf: bytes)
                } else {
                    state.received.append(Array(bytes))
                }
                state.receivedBytes += bytes.count
            }
            let reader = state.reader
            state.reader = nil
            return (0, reader)
        }
        reader?.continuation.resume()
        return dropped
    }

    /// The peer reset the stream; returns the number of unread bytes discarded.
    func deliverReset(code: UInt64) -> Int {
        defer { recordAbort(.streamReset(code: code)) }
        let discarded: Int = state.withLock { state in
            guard state.receiveError == nil else { return 0 }
            state.receiveError = .streamReset(code: code)
            let discarded = state.receivedBytes
            state.received.removeAll()
            state.readIndex = 0
            state.receivedBytes = 0
            return discarded
        }
        wakeAll()
        return discarded
    }

    /// The peer asked us to stop sending; writers fail and unsent bytes are dropped.
    func deliverStopSending(code: UInt64) {
        defer { recordAbort(.stopSendingRequested(code: code)) }
        let freed = state.withLock { state in
            state.sendError == nil ? state.failSend(.stopSendingRequested(code: code)) : 0
        }
        wakeAll()
        budget?.release(freed, for: self)
    }

    /// The connection ended: every half not already complete fails with `reason`.
    func connectionClosed(_ reason: CloseReason) {
        defer { recordAbort(.connectionClosed(reason)) }
        let freed = state.withLock { state in
            if state.receiveError == nil, !state.finReceived {
                state.receiveError = .connectionClosed(reason)
            }
            guard state.sendError == nil, !(state.finSent && state.send.buffered == 0) else { return 0 }
            return state.failSend(.connectionClosed(reason))
        }
        wakeAll()
        budget?.release(freed, for: self)
    }

    /// The transport ended the stream abnormally: each half not already complete fails, the
    /// receiving half with `receiving` (its unread bytes dropped) and the sending half with
    /// `sending` (its unsent bytes dropped); complete halves are untouched, and abort waiters
    /// learn of it.
    func failOpenHalves(receiving: TransportError, sending: TransportError) {
        let (aborted, freed): (TransportError?, Int) = state.withLock { state in
            var aborted: TransportError?
            var freed = 0
            if state.receiveError == nil, !state.finReceived {
                state.receiveError = receiving
                state.received.removeAll()
                state.readIndex = 0
                state.receivedBytes = 0
                aborted = receiving
            }
            if state.sendError == nil, !(state.finSent && state.send.buffered == 0) {
                freed = state.failSend(sending)
                aborted = sending
            }
            return (aborted, freed)
        }
        wakeAll()
        budget?.release(freed, for: self)
        if let aborted { recordAbort(aborted) }
    }

    /// Whether the peer's FIN arrived: the receiving half is complete.
    var finReceived: Bool {
        state.withLock { $0.finReceived }
    }

    /// Whether unsent bytes or an unsent FIN are waiting.
    var hasPendingSend: Bool {
        state.withLock { state in
            state.sendError == nil && (state.send.unsent > 0 || (state.finQueued && !state.finSent))
        }
    }

    /// Hands unsent regions (at most `maxRegions`) to `body`, which returns how many bytes the
    /// transport took and whether it sent the FIN. Region pointers stay valid until acknowledged.
    func withUnsentData(
        maxRegions: Int,
        _ body: (_ regions: UnsafeBufferPointer<UnsafeRawBufferPointer>, _ finPending: Bool) -> (
            accepted: Int, finSent: Bool
        )
    ) {
        // `body` runs under the lock: a concurrent reset must not free regions it is reading.
        state.withLock { state in
            guard state.sendError == nil else { return }
            let finPending = state.finQueued && !state.finSent
            let result = state.send.withUnsentRegions(maxRegions: maxRegions) { regions in
                body(regions, finPending && regions.reduce(0) { $0 + $1.count } == state.send.unsent)
            }
            state.send.markSent(result.accepted)
            if result.finSent { state.finSent = true }
        }
    }

    /// The peer acknowledged bytes below `offset`, which frees them.
    ///
    /// A full buffer wakes its writers only once it has drained to half of ``sendBufferLimit``
    /// (a low-water mark), not on every acknowledgement: a fast writer then refills it in one go
    /// instead of waking for each ACK frame's worth of room.
    func acknowledge(upTo offset: UInt64) {
        let (freed, writers): (Int, Deque<Waiter>) = state.withLock { state in
            let before = state.send.buffered
            state.send.acknowledge(upTo: offset)
            let freed = before - state.send.buffered
            guard freed > 0 else { return (0, []) }
            guard state.send.buffered <= sendBufferLimit / 2 else { return (freed, []) }
            state.sendEvents &+= 1
            defer { state.writers.removeAll() }
            return (freed, state.writers)
        }
        for writer in writers { writer.continuation.resume() }
        budget?.release(freed, for: self)
    }

    // MARK: Waiting

    private func suspend(asReader: Bool) async throws {
        try await suspend { state in
            if asReader {
                if !state.received.isEmpty || state.receiveError != nil || state.finReceived { return false }
                precondition(state.reader == nil, "only one task may read a stream at a time")
            }
            return true
        } register: { state, waiter in
            if asReader { state.reader = waiter } else { state.writers.append(waiter) }
        }
    }

    /// Waits until something that may make room happened after the writer saw `events`.
    private func suspendWriter(seen events: UInt64) async throws {
        try await suspend { state in
            state.sendEvents == events && state.sendError == nil
        } register: { state, waiter in
            state.writers.append(waiter)
        }
    }

    /// Suspends the task unless `stillWaiting` (checked under the lock, so nothing that happened
    /// since the caller looked is missed) says otherwise; `register` records its continuation.
    private func suspend(
        while stillWaiting: (inout State) -> Bool, register: (inout State, Waiter) -> Void
    ) async throws {
        let id = state.withLock { state in
            state.nextWaiterID += 1
            return state.nextWaiterID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let resumeNow: Bool = state.withLock { state in
                    if Task.isCancelled || !stillWaiting(&state) { return true }
                    register(&state, Waiter(id: id, continuation: continuation))
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let waiter: Waiter? = state.withLock { state in
                if let reader = state.reader, reader.id == id {
                    state.reader = nil
                    return reader
                }
                if let index = state.writers.firstIndex(where: { $0.id == id }) {
                    return state.writers.remove(at: index)
                }
                return nil
            }
            waiter?.continuation.resume(throwing: CancellationError())
        }
        try Task.checkCancellation()
    }

    /// Bytes came back to the connection's budget: writers waiting for room try again.
    func budgetReleased() {
        let writers: Deque<Waiter> = state.withLock { state in
            state.sendEvents &+= 1
            defer { state.writers.removeAll() }
            return state.writers
        }
        for writer in writers { writer.continuation.resume() }
    }

    // MARK: Aborts

    /// Runs `action` once, when the peer aborts the stream (RESET_STREAM or STOP_SENDING) or its
    /// connection ends, with how; at once when that already happened. Lets a server stop work
    /// for a caller that has gone, even while the work is not reading or writing, without a
    /// task waiting beside it. `action` runs on the thread that learnt of the abort (the
    /// reactor's, for QUIC) and must not block.
    public func whenAborted(_ action: @escaping @Sendable (TransportError) -> Void) {
        let abort: TransportError? = state.withLock { state in
            if let abort = state.abort { return abort }
            state.abortActions.append(action)
            return nil
        }
        if let abort { action(abort) }
    }

    private func recordAbort(_ error: TransportError) {
        let (abort, actions) = state.withLock { state in
            // The first abort is the one every action hears of.
            let abort = state.abort ?? error
            state.abort = abort
            defer { state.abortActions.removeAll() }
            return (abort, state.abortActions)
        }
        for action in actions { action(abort) }
    }

    private func wakeAll() {
        let (reader, writers): (Waiter?, Deque<Waiter>) = state.withLock { state in
            defer {
                state.reader = nil
                state.writers.removeAll()
            }
            return (state.reader, state.writers)
        }
        reader?.continuation.resume()
        for writer in writers { writer.continuation.resume() }
    }
}
