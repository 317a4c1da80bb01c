import Metrics
import Transports

/// The swift-metrics instruments of one member, named `rpcnet.membership.<what>` through the
/// membership's ``MetricsNaming`` and created with the factory given to the membership.
///
/// Every instrument carries the dimension `member`, the name of the member that measures, so
/// the members of one process (a simulation, a test) stay apart. Statuses, probes and
/// suspicions follow SWIM (Das, Gupta and Motivala, 2002) and its Lifeguard extensions
/// (Dadgar, Phillips and Currey, 2018), which ``SWIMInstance`` implements.
struct MembershipMetrics: Sendable {
    /// `rpcnet.membership.members` by `status` (`alive`, `suspect`, `failed`, `left`): the
    /// members this one knows of with each status, itself included, failed and departed ones
    /// until their tombstones are reaped (SWIM §4.2). Recorded whenever a count changes.
    private let members: [MemberStatus: Gauge]
    /// `rpcnet.membership.probes` by `kind`: probes this member ran. `direct`: one each protocol
    /// period, a ping to the next member in its round-robin order (SWIM §3.1, §4.3); `indirect`:
    /// a direct ping unanswered within the probe timeout, so the member asked up to
    /// ``SWIMSettings/indirectProbes`` helpers to ping the target for it (ping-req, SWIM §3.1).
    private let probes: [ProbeKind: Counter]
    /// `rpcnet.membership.probe.round_trip` by `kind`: how long a probe's target took to answer.
    /// `direct`: from the ping to the target's own ack; `indirect`: from asking helpers to the
    /// first ack a helper relayed. Unanswered probes record nothing.
    private let roundTrips: [ProbeKind: Timer]
    /// `rpcnet.membership.local_health`: Lifeguard's local health multiplier (§4.3), 0 when
    /// healthy. It rises when this member's probes fail without nacks from the helpers and when
    /// it is suspected itself (signs that its own network or scheduling is the problem), falls
    /// with each direct ack, and stretches its probe interval, probe timeout and suspicion
    /// timeouts to (1 + multiplier) × their base. Recorded whenever it changes.
    private let localHealth: Gauge
    /// `rpcnet.membership.suspicions` by `origin`: alive members that turned suspect here (SWIM
    /// §4.2). `local`: this member's own probe of it failed; `remote`: another member's suspicion
    /// or failure report reached this one. Further suspecters of the same suspicion (Lifeguard
    /// §4.4's confirmations) are not counted.
    private let suspicions: [SuspicionOrigin: Counter]
    /// `rpcnet.membership.refutations`: times this member heard itself suspected, declared
    /// failed or departed, or described out of date, and answered with a higher incarnation
    /// (SWIM §4.2). Each one also raises its local health multiplier (Lifeguard §4.3).
    private let refutations: Counter
    /// `rpcnet.membership.datagrams.sent` by `kind` (`ping`, `pingRequest`, `ack`, `nack`,
    /// `sync`, `gossip`, `nameInUse`): gossip datagrams the transport accepted to send. Indexed
    /// by the kind's raw value, as every datagram counts.
    private let sent: [Counter]
    /// `rpcnet.membership.datagrams.received` by `kind`: gossip datagrams that passed every
    /// check (size, cluster key, decoding, replay window, sender name) and reached the state
    /// machine. Indexed by the kind's raw value.
    private let received: [Counter]
    /// `rpcnet.membership.datagrams.dropped` by `reason` (`oversized`, `malformed`,
    /// `unauthenticated`, `replayed`, `foreign`, `nameConflict`, see ``GossipDropReason``):
    /// datagrams refused before they could change anything.
    private let dropped: [GossipDropReason: Counter]

    /// The instruments of the member `member`, named by `naming`, made by `factory`.
    init(member: String, naming: MetricsNaming, factory: any MetricsFactory) {
        let memberDimension = [("member", member)]
        func label(_ what: String) -> String {
            naming.label("rpcnet.membership." + what)
        }
        func table<Key: CaseIterable & Hashable & CustomStringConvertible, Instrument>(
            _ dimension: String, _ make: ([(String, String)]) -> Instrument
        ) -> [Key: Instrument] {
            Dictionary(uniqueKeysWithValues: Key.allCases.map { ($0, make(memberDimension + [(dimension, "\($0)")])) })
        }
        members = table("status") { Gauge(label: label("members"), dimensions: $0, factory: factory) }
        probes = table("kind") { Counter(label: label("probes"), dimensions: $0, factory: factory) }
        roundTrips = table("kind") { Timer(label: label("probe.round_trip"), dimensions: $0, factory: factory) }
        localHealth = Gauge(label: label("local_health"), dimensions: memberDimension, factory: factory)
        suspicions = table("origin") { Counter(label: label("suspicions"), dimensions: $0, factory: factory) }
        refutations = Counter(label: label("refutations"), dimensions: memberDimension, factory: factory)
        func byKind(_ what: String) -> [Counter] {
            GossipMessage.Kind.allCases.map {
                Counter(label: label(what), dimensions: memberDimension + [("kind", "\($0)")], factory: factory)
            }
        }
        sent = byKind("datagrams.sent")
        received = byKind("datagrams.received")
        dropped = table("reason") { Counter(label: label("datagrams.dropped"), dimensions: $0, factory: factory) }
    }

    /// A datagram carrying `kind` went out.
    func sent(_ kind: GossipMessage.Kind) {
        sent[kind.rawValue].increment()
    }

    /// A datagram carrying `kind` was accepted.
    func received(_ kind: GossipMessage.Kind) {
        received[kind.rawValue].increment()
    }

    /// A datagram was dropped for `reason`.
    func dropped(_ reason: GossipDropReason) {
        dropped[reason]!.increment()
    }

    /// Counts or times what the state machine observed.
    func record(_ observation: SWIMObservation) {
        switch observation {
        case .probe(let kind): probes[kind]!.increment()
        case .probeAnswered(let kind, let after): roundTrips[kind]!.record(duration: after)
        case .suspicion(let origin): suspicions[origin]!.increment()
        case .refutation: refutations.increment()
        }
    }

    /// Records the member counts and the local health multiplier.
    func record(_ health: MembershipHealth) {
        for (status, gauge) in members { gauge.record(health.members[status]) }
        localHealth.record(health.localHealth)
    }
}

/// What the membership's gauges show, compared after each step of the state machine so the
/// gauges are recorded only when it changed.
struct MembershipHealth: Equatable, Sendable {
    /// Known members by status, this one included.
    var members: MemberStatusCounts
    /// Lifeguard's local health multiplier.
    var localHealth: Int
}
