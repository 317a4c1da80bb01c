public import RpcNet

/// What the director, the workers and the client say to each other (compact binary codec).

/// The director's service: hands out workers.
@RPCService("Director")
public protocol DirectorService: Sendable {
    /// Assigns a worker and holds the assignment while the call stays open, so the director's
    /// LeastConnections counts the clients each worker serves: one response, then nothing until
    /// the client ends the call.
    func assign(_ request: AssignRequest, responses: TypedMessageWriter<Assignment>, context: ServerContext)
        async throws
}

/// A worker's service: produces tokens.
@RPCService("Worker")
public protocol WorkerService: Sendable {
    /// Streams tokens after the sequence number the client already has, so a client that lost
    /// its worker resumes on another without losing or repeating one.
    func generate(_ request: GenerateRequest, responses: TypedMessageWriter<Token>, context: ServerContext)
        async throws
}

/// A client's request for a worker.
public struct AssignRequest: Codable, Sendable {
    /// Workers that just failed this client, to be avoided if possible.
    public var avoid: [String]
    /// Tags the worker must carry, as `key=value[,key=value]` (may be empty).
    public var filter: String

    public init(avoid: [String] = [], filter: String = "") {
        self.avoid = avoid
        self.filter = filter
    }
}

/// The worker the director chose.
public struct Assignment: Codable, Sendable {
    /// The worker's member name.
    public var worker: String
    /// Its label tag.
    public var label: String
    /// Where it serves RPC (`host:port`).
    public var address: String

    public init(worker: String, label: String, address: String) {
        self.worker = worker
        self.label = label
        self.address = address
    }
}

/// A request for tokens.
public struct GenerateRequest: Codable, Sendable {
    /// The prompt (the example's tokens do not depend on it).
    public var prompt: String
    /// The last sequence number the client has; the stream starts after it.
    public var after: UInt64
    /// The last sequence number wanted (0: unlimited).
    public var through: UInt64

    public init(prompt: String, after: UInt64, through: UInt64) {
        self.prompt = prompt
        self.after = after
        self.through = through
    }
}

/// One token of a stream.
public struct Token: Codable, Sendable {
    /// 1, 2, 3… across the whole stream, whichever worker produced it.
    public var sequence: UInt64
    /// `token-<sequence>`.
    public var text: String
    /// The worker that produced it.
    public var worker: String

    public init(sequence: UInt64, text: String, worker: String) {
        self.sequence = sequence
        self.text = text
        self.worker = worker
    }
}
