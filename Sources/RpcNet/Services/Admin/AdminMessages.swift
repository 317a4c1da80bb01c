/// The records the admin service answers with (``BinaryCodec`` on the wire, docs/PROTOCOL.md
/// §9.2) and the `rpcnet` CLI prints as tables or JSON.
public enum Admin {
    /// Asks for everything; the admin methods take no parameters yet.
    public struct Query: Codable, Sendable, Hashable {
        /// Creates the query.
        public init() {}
    }

    /// One member as this node sees it.
    public struct Member: Codable, Sendable, Hashable {
        /// Its name.
        public var name: String
        /// Its gossip (and RPC) address.
        public var address: String
        /// `alive`, `suspect`, `dead` or `left`.
        public var status: String
        /// The incarnation its status was last refuted or declared at (SWIM §4.2).
        public var incarnation: UInt64
        /// Its tags.
        public var tags: [String: String]
        /// Its φ (Hayashibara et al., 2004): how unexpected its silence is; `nil` for itself,
        /// for inactive members and before enough heartbeats.
        public var phi: Double?
    }

    /// The node's members.
    public struct Members: Codable, Sendable, Hashable {
        /// Every member the node knows, itself included, by name.
        public var members: [Member]
    }

    /// One worker as the node's registry sees it.
    public struct Worker: Codable, Sendable, Hashable {
        /// Its member name.
        public var name: String
        /// Where its RPC server listens.
        public var address: String
        /// Calls this node has in flight on it.
        public var load: Int
        /// The load it publishes itself, if it does.
        public var reportedLoad: Int?
        /// Its tags.
        public var tags: [String: String]
    }

    /// The workers a registry would choose from.
    public struct Workers: Codable, Sendable, Hashable {
        /// The workers, by name.
        public var workers: [Worker]
    }

    /// Counters of the node.
    public struct Statistics: Codable, Sendable, Hashable {
        /// Members by status.
        public var members: [String: Int]
        /// Gossip datagrams sent.
        public var gossipSent: Int
        /// Gossip datagrams received.
        public var gossipReceived: Int
        /// Gossip datagrams dropped, by reason.
        public var gossipDropped: [String: Int]
        /// Probes sent.
        public var probes: Int
        /// Probes that got no acknowledgement in time.
        public var failedProbes: Int
        /// Times this node refuted a suspicion about itself.
        public var refutations: Int
        /// Lifeguard's local health multiplier (0 is healthy).
        public var localHealth: Int
        /// Calls the node's RPC server runs now, if it has one.
        public var activeCalls: Int?
    }

    /// One membership event.
    public struct Event: Codable, Sendable, Hashable {
        /// `joined`, `left`, `failed`, `recovered`, `tagsUpdated`, `partitionDetected`,
        /// `partitionHealed` or `lagged`.
        public var kind: String
        /// The member it is about, if any.
        public var member: Member?
        /// What else there is to say: the partition's size, the events lost.
        public var detail: String?
    }
}

extension Admin.Member {
    init(_ member: ClusterMember) {
        self.init(
            name: member.name, address: "\(member.address)", status: "\(member.status)",
            incarnation: member.incarnation, tags: member.tags, phi: member.phi)
    }
}

extension Admin.Event {
    init(_ event: ClusterEvent) {
        switch event {
        case .nodeJoined(let member): self.init(kind: "joined", member: .init(member), detail: nil)
        case .nodeLeft(let member): self.init(kind: "left", member: .init(member), detail: nil)
        case .nodeFailed(let member): self.init(kind: "failed", member: .init(member), detail: nil)
        case .nodeRecovered(let member): self.init(kind: "recovered", member: .init(member), detail: nil)
        case .nodeTagsUpdated(let member, _): self.init(kind: "tagsUpdated", member: .init(member), detail: nil)
        case .partitionDetected(let status):
            self.init(
                kind: "partitionDetected", member: nil, detail: "\(status.reachable) of \(status.known) reachable")
        case .partitionHealed(let reachable, let known):
            self.init(kind: "partitionHealed", member: nil, detail: "\(reachable) of \(known) reachable")
        case .lagged(let dropped): self.init(kind: "lagged", member: nil, detail: "\(dropped) events dropped")
        }
    }
}
