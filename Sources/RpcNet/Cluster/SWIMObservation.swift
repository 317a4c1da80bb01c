/// Something the state machine saw happen that its shell measures (``MembershipMetrics``):
/// reported as ``SWIMDirective/observe(_:)``, since the state machine itself touches no metrics.
enum SWIMObservation: Equatable, Sendable {
    /// A probe moved to a stage: its direct ping went out, or, unanswered, helpers were asked.
    case probe(ProbeKind)
    /// Our probe's target was heard from, `after` the stage's datagrams went out.
    case probeAnswered(ProbeKind, after: Duration)
    /// A member turned suspect here.
    case suspicion(SuspicionOrigin)
    /// This member refuted news about itself with a higher incarnation.
    case refutation
}

/// How a probe reaches its target (SWIM §3.1).
enum ProbeKind: String, CaseIterable, Sendable, CustomStringConvertible {
    /// A ping from the prober, answered by the target's ack.
    case direct
    /// Ping-reqs to helpers after the direct ping went unanswered: each helper pings the target
    /// and relays its ack.
    case indirect

    var description: String { rawValue }
}

/// Whose finding a suspicion is.
enum SuspicionOrigin: String, CaseIterable, Sendable, CustomStringConvertible {
    /// This member's own probe failed.
    case local
    /// Another member's suspicion or failure report reached this one.
    case remote

    var description: String { rawValue }
}
