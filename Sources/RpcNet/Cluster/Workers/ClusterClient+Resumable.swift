import Synchronization
import Transports

extension ClusterClient {
    /// Why a resumable stream moved to another worker.
    public enum Failover: Sendable, Equatable, CustomStringConvertible {
        /// The worker answered with this status (for example `unavailable` while it fails).
        case failed(RPCStatus)
        /// Nothing arrived for ``Configuration/streamStallTimeout``: killed, stalled or cut off.
        case stalled(Duration)

        public var description: String {
            switch self {
            case .failed(let status): "failed: \(status)"
            case .stalled(let silence): "stalled: nothing for \(silence)"
            }
        }
    }

    /// Runs a server-streaming call that survives the loss of its worker.
    ///
    /// The stream starts from `start`. `handle` processes each response and returns the
    /// position the application now acknowledges (for a token stream, the sequence number it
    /// has taken). When the worker fails with `unavailable` or `aborted`, or sends nothing for
    /// the stall timeout, the call moves to another worker chosen by the registry, preferring
    /// ones that have not failed this stream, and `request` builds the request that resumes
    /// from the last acknowledged position, so nothing is lost and, provided the service
    /// resumes after that position, nothing repeats. `onSwitch` hears of every worker taken,
    /// with the reason for leaving the previous one.
    ///
    /// `options.timeout` bounds the whole stream, failovers included. After a leg that failed
    /// without delivering anything, the next waits a little longer (100 ms, doubling to 1 s);
    /// ``Configuration/maxAttempts`` such legs in a row end the stream with
    /// ``ClusterClientError/exhausted(attempts:)``.
    ///
    /// Returns the last position when the stream ends normally. Fails with the worker's status
    /// for other errors, with ``ClusterClientError/noWorkerAvailable(filter:)`` when no worker
    /// has been available for ``Configuration/workerWaitLimit``, and with
    /// ``ClusterClientError/closed`` once the client is closed.
    public func resumableStream<Position: Sendable>(
        _ method: String, from start: Position, matching filter: [String: String] = [:],
        options: CallOptions = CallOptions(), request: @escaping @Sendable (Position) throws -> [UInt8],
        onSwitch: @escaping @Sendable (_ to: Worker, _ from: Worker?, _ reason: Failover?) -> Void = { _, _, _ in },
        handle: @escaping @Sendable ([UInt8]) async throws -> Position
    ) async throws -> Position {
        let deadline = (options.timeout ?? configuration.rpc.defaultTimeout).map { clock.now.advanced(by: $0) }
        let progress = StreamProgress(start)
        var previous: (worker: Worker, reason: Failover)?
        var failedWorkers: Set<String> = []
        var fruitless: [ClusterClientError.Attempt] = []
        while true {
            var legOptions = options
            if let deadline {
                let left = clock.now.duration(to: deadline)
                guard left > .zero else {
                    throw RPCStatus(code: .deadlineExceeded, message: "the stream ran out of time")
                }
                legOptions.timeout = left
            }
            let lease = try await nextLease(matching: filter, avoiding: failedWorkers)
            defer { lease.release() }
            let worker = lease.worker
            onSwitch(worker, previous?.worker, previous?.reason)
            let delivered = progress.delivered
            do {
                let client = try await pool.checkOut(worker, within: legOptions.timeout)
                defer { pool.checkIn(worker.name, client) }
                try await client.serverStreaming(method, try request(progress.position), options: legOptions) {
                    responses in
                    let responses = ResponseIterator(responses.makeAsyncIterator())
                    while let message = try await self.next(from: responses, noting: progress) {
                        progress.acknowledge(try await handle(message))
                    }
                }
                return progress.position
            } catch {
                // The client reports every failure as a status; a stall is told apart by the
                // note the stall timer left, not by a status a server could send too.
                if let silence = progress.takeStall() {
                    previous = (worker, .stalled(silence))
                } else if let status = error as? RPCStatus, status.code == .unavailable || status.code == .aborted {
                    previous = (worker, .failed(status))
                } else {
                    throw error
                }
            }
            logger.info(
                "stream lost its worker; resuming elsewhere",
                metadata: [
                    "worker": "\(worker.name)", "reason": "\(previous!.reason)", "position": "\(progress.position)",
                ])
            failedWorkers.insert(worker.name)
            if progress.delivered > delivered {
                fruitless.removeAll()
            } else {
                let status: RPCStatus =
                    switch previous!.reason {
                    case .failed(let status): status
                    case .stalled(let silence): RPCStatus(code: .unavailable, message: "nothing for \(silence)")
                    }
                fruitless.append(.init(worker: worker.name, status: status))
                guard fruitless.count < configuration.maxAttempts else {
                    throw ClusterClientError.exhausted(attempts: fruitless)
                }
                try await clock.sleep(for: min(.milliseconds(100) * (1 << (fruitless.count - 1)), .seconds(1)))
            }
        }
    }

    /// ``resumableStream(_:from:matching:options:request:onSwitch:handle:)`` for a typed
    /// server-streaming method: `request` builds the typed request that resumes after a
    /// position, `handle` takes each typed response. The method's service error comes back typed.
    public func resumableStream<Request, Response, Failure, Position: Sendable>(
        _ method: RPCMethod<Request, Response, Failure>, from start: Position, matching filter: [String: String] = [:],
        options: CallOptions = CallOptions(), request: @escaping @Sendable (Position) -> Request,
        onSwitch: @escaping @Sendable (_ to: Worker, _ from: Worker?, _ reason: Failover?) -> Void = { _, _, _ in },
        handle: @escaping @Sendable (Response) async throws -> Position
    ) async throws -> Position {
        try await rethrowingServiceError(Failure.self) {
            try await resumableStream(
                method.name, from: start, matching: filter, options: options,
                request: { try method.codec.encode(request($0)) }, onSwitch: onSwitch,
                handle: { bytes in
                    try await handle(
                        try decodeMessage(Response.self, from: bytes, codec: method.codec, failingWith: .internal))
                })
        }
    }

    /// A worker for the next leg of a stream: one that has not failed it if there is one, else
    /// any (a failed worker may have recovered), waiting for one to appear up to the limit.
    private func nextLease(matching filter: [String: String], avoiding failed: Set<String>) async throws -> WorkerLease
    {
        let giveUp = clock.now.advanced(by: configuration.workerWaitLimit)
        while true {
            if let lease = try? registry.select(matching: filter, excluding: failed) { return lease }
            if let lease = try? registry.select(matching: filter) { return lease }
            guard clock.now < giveUp else { throw ClusterClientError.noWorkerAvailable(filter: filter) }
            try await clock.sleep(for: .milliseconds(100))
        }
    }

    /// The next response; after the stall timeout of silence, notes the stall in `progress`
    /// and fails, which ends the call. The read that lost the race is not waited for: ending
    /// the call aborts the stream, which ends it.
    private func next<Position>(
        from responses: ResponseIterator, noting progress: StreamProgress<Position>
    ) async throws -> [UInt8]? {
        guard let limit = configuration.streamStallTimeout else { return try await responses.next() }
        let result = await firstResult(of: { try await responses.next() }, within: limit, on: clock)
        guard let result else {
            progress.noteStall(limit)
            throw RPCStatus(code: .unavailable, message: "no message for \(limit)")
        }
        return try result.get()
    }
}

/// The acknowledged position of a resumable stream, written by the response handler and read
/// when the stream resumes, and whether its last leg stalled.
final class StreamProgress<Position: Sendable>: Sendable {
    private let value: Mutex<(position: Position, delivered: Int, stall: Duration?)>

    init(_ start: Position) { value = Mutex((start, 0, nil)) }

    /// The last position acknowledged.
    var position: Position { value.withLock { $0.position } }

    /// Responses handled so far, over every leg.
    var delivered: Int { value.withLock { $0.delivered } }

    func acknowledge(_ position: Position) {
        value.withLock {
            $0.position = position
            $0.delivered += 1
        }
    }

    func noteStall(_ silence: Duration) {
        value.withLock { $0.stall = silence }
    }

    /// The stall noted since the last call, if any.
    func takeStall() -> Duration? {
        value.withLock { state in
            defer { state.stall = nil }
            return state.stall
        }
    }
}

/// A response iterator that the stall race's task can advance. One task uses it at a time:
/// after a stall, the abandoned read is the last, since the call ends.
private final class ResponseIterator: @unchecked Sendable {
    private var iterator: MessageStream.AsyncIterator

    init(_ iterator: MessageStream.AsyncIterator) { self.iterator = iterator }

    func next() async throws -> [UInt8]? { try await iterator.next() }
}
