extension ClusterClient {
    /// One worker's outcome of ``callEachWorker(matching:options:_:)``.
    public struct WorkerResult<Value: Sendable>: Sendable {
        /// The worker called.
        public let worker: Worker
        /// What its call returned, or the error it failed with: the service's typed error when
        /// the call was made through a generated client, else an ``RPCStatus``.
        public let result: Result<Value, any Error>
    }

    /// Calls every worker whose tags include `filter`, all at once, and yields each worker's
    /// outcome as it arrives (the chapter's "call every worker").
    ///
    /// `call` runs once per worker with that worker's connection as its caller and the options
    /// to pass on, whose timeout is the time left before the common deadline
    /// (`options.timeout`, or the client's default): a worker still running at the deadline
    /// yields `deadlineExceeded`, a worker that cannot be reached `unavailable`. Nothing is
    /// retried elsewhere: each result is that worker's. No matching worker: the sequence ends
    /// at once. Abandoning the iteration cancels the calls still running.
    ///
    /// ```swift
    /// let replies = cluster.callEachWorker(matching: ["gpu": "true"]) { worker, options in
    ///     try await InferenceClient(worker).load(model, options: options)
    /// }
    /// for await reply in replies { print(reply.worker.name, reply.result) }
    /// ```
    public func callEachWorker<Value: Sendable>(
        matching filter: [String: String] = [:], options: CallOptions = CallOptions(),
        _ call: @escaping @Sendable (_ worker: any RPCCaller, _ options: CallOptions) async throws -> Value
    ) -> AsyncStream<WorkerResult<Value>> {
        let deadline = (options.timeout ?? configuration.rpc.defaultTimeout).map { clock.now.advanced(by: $0) }
        let leases = registry.leaseEach(matching: filter)
        let (results, continuation) = AsyncStream.makeStream(of: WorkerResult<Value>.self)
        let calls = Task {
            await withTaskGroup(of: Void.self) { group in
                for lease in leases {
                    group.addTask {
                        defer { lease.release() }
                        let result: Result<Value, any Error>
                        do {
                            result = .success(
                                try await self.call(lease.worker, options: options, deadline: deadline, call))
                        } catch {
                            result = .failure(error)
                        }
                        continuation.yield(WorkerResult(worker: lease.worker, result: result))
                    }
                }
            }
            continuation.finish()
        }
        continuation.onTermination = { _ in calls.cancel() }
        return results
    }

    /// One worker's call of ``callEachWorker(matching:options:_:)``, bounded by `deadline`.
    private func call<Value: Sendable>(
        _ worker: Worker, options: CallOptions, deadline: MonotonicInstant?,
        _ call: @escaping @Sendable (any RPCCaller, CallOptions) async throws -> Value
    ) async throws -> Value {
        var options = options
        if let deadline {
            options.timeout = clock.now.duration(to: deadline)
            guard options.timeout! > .zero else { throw RPCStatus(code: .deadlineExceeded) }
        }
        let client = try await pool.checkOut(worker, within: options.timeout)
        defer { pool.checkIn(worker.name, client) }
        guard let timeout = options.timeout else { return try await call(client, options) }
        return try await withDeadline(timeout, on: clock) { [options] in try await call(client, options) }
    }
}
