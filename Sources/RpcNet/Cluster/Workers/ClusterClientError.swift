/// Why the cluster layer could not hand out a worker or finish a call on one.
public enum ClusterClientError: Error, Sendable, Equatable, CustomStringConvertible {
    /// No alive worker matches the filter (after excluding those already tried).
    case noWorkerAvailable(filter: [String: String])
    /// A tag filter's text is not `key=value[,key=value…]` with distinct keys.
    case invalidFilter(String)
    /// Every attempt failed; `attempts` lists each worker tried and the status it failed with.
    case exhausted(attempts: [Attempt])
    /// The cluster client was closed.
    case closed

    /// One worker tried by a call and what went wrong.
    public struct Attempt: Sendable, Equatable, CustomStringConvertible {
        /// The worker's member name.
        public var worker: String
        /// The failure, as an RPC status.
        public var status: RPCStatus

        /// `worker: status`.
        public var description: String { "\(worker): \(status)" }
    }

    /// The failure in words, with the filter as `key=value,…` text.
    public var description: String {
        switch self {
        case .noWorkerAvailable(let filter):
            filter.isEmpty ? "no worker available" : "no worker available matching \(TagFilter.format(filter))"
        case .invalidFilter(let text): "invalid tag filter \"\(text)\" (expected key=value[,key=value…])"
        case .exhausted(let attempts): "every attempt failed: \(attempts.map(\.description).joined(separator: "; "))"
        case .closed: "the cluster client is closed"
        }
    }
}
