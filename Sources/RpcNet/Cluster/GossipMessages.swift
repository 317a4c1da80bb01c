import Transports

/// News about one member, piggybacked on every gossip datagram (SWIM §4.1). Each kind carries
/// the incarnation it is about; the merge rules in ``SWIMInstance`` order them.
enum MemberUpdate: Equatable, Sendable {
    /// The member is alive at `incarnation`, at `address`, with `tags`.
    case alive(name: String, address: SocketAddress, incarnation: UInt64, tags: [String: String])
    /// `from` suspects the member at `incarnation`.
    case suspect(name: String, incarnation: UInt64, from: String)
    /// `from` declared the member failed at `incarnation`.
    case failed(name: String, incarnation: UInt64, from: String)
    /// The member left at `incarnation`.
    case left(name: String, incarnation: UInt64)

    /// The member the update is about.
    var name: String {
        switch self {
        case .alive(let name, _, _, _), .suspect(let name, _, _), .failed(let name, _, _), .left(let name, _): name
        }
    }

    /// The incarnation the update is about.
    var incarnation: UInt64 {
        switch self {
        case .alive(_, _, let incarnation, _), .suspect(_, let incarnation, _), .failed(_, let incarnation, _),
            .left(_, let incarnation):
            incarnation
        }
    }

    /// Whether the update says the member is in trouble (suspected or failed).
    var isAccusation: Bool {
        switch self {
        case .suspect, .failed: true
        case .alive, .left: false
        }
    }
}

/// One member's full state, as a sync (push/pull) exchange carries it.
struct MemberState: Equatable, Sendable {
    var name: String
    var address: SocketAddress
    var status: MemberStatus
    var incarnation: UInt64
    var tags: [String: String]
}

/// The protocol message a datagram carries besides its piggybacked updates.
enum GossipMessage: Equatable, Sendable {
    /// A probe (SWIM §3.1); `target` names the member meant, so a restarted process at the
    /// same address does not answer for its predecessor.
    case ping(sequence: UInt64, target: String)
    /// Asks the receiver to probe `target` on the sender's behalf (SWIM §3.1).
    case pingRequest(sequence: UInt64, target: String, address: SocketAddress)
    /// Answers a probe, directly or relayed by a helper.
    case ack(sequence: UInt64)
    /// A helper did not hear the target in time (Lifeguard §4.2).
    case nack(sequence: UInt64)
    /// Part of a full-state exchange (anti-entropy); `replyWanted` asks for the receiver's state
    /// back; `join` marks a new member's first exchange with a seed.
    case sync(members: [MemberState], replyWanted: Bool, join: Bool)
    /// Only piggybacked updates (a gossip round).
    case gossip
    /// A seed's answer to a join under a name a live member holds at another address: the
    /// joiner must not take the name (it would move the member's entry to itself).
    case nameInUse(holder: SocketAddress)

    /// The kinds of message. The raw values number them from 0 in declaration order, so
    /// per-kind metrics are an array lookup for every datagram.
    enum Kind: Int, CaseIterable, Sendable, CustomStringConvertible {
        case ping, pingRequest, ack, nack, sync, gossip, nameInUse

        /// The name metrics and logs use: the case's name.
        var description: String {
            switch self {
            case .ping: "ping"
            case .pingRequest: "pingRequest"
            case .ack: "ack"
            case .nack: "nack"
            case .sync: "sync"
            case .gossip: "gossip"
            case .nameInUse: "nameInUse"
            }
        }
    }

    /// This message's kind.
    var kind: Kind {
        switch self {
        case .ping: .ping
        case .pingRequest: .pingRequest
        case .ack: .ack
        case .nack: .nack
        case .sync: .sync
        case .gossip: .gossip
        case .nameInUse: .nameInUse
        }
    }
}

/// One gossip datagram before encryption: who sent it, when, the message and the updates.
struct GossipPacket: Equatable, Sendable {
    /// The sender's member name.
    var sender: String
    /// Names the sender's run: the wall-clock time its membership was created, in nanoseconds
    /// (kept within 62 bits). Its `sentAt` readings are only comparable within one run, and boots
    /// grow from run to run, so a datagram recorded during an earlier run can be refused
    /// (``ReplayRecord``, §7.6 of PROTOCOL.md).
    var boot: UInt64
    /// The sender's clock when it sent the datagram (nanoseconds), for replay rejection.
    var sentAt: UInt64
    var message: GossipMessage
    var updates: [MemberUpdate]
}
