import Synchronization
import Transports

/// What a membership knows and its tags: read from any thread, the owner's included, under the
/// lock the owner holds only while it steps the state machine.
extension ClusterMembership {
    /// Every known member, this one first, then the others in name order, tombstones included.
    public var members: [ClusterMember] {
        let now = clock.now
        return shared.withLock { $0.instance.memberList(now: now) }
    }

    /// What this member knows of the member called `name` (itself included), tombstones
    /// included; nil if it never heard of it. Cheaper than searching ``members``.
    public func member(named name: String) -> ClusterMember? {
        let now = clock.now
        return shared.withLock { $0.instance.member(named: name, now: now) }
    }

    /// Members with `status` (any when nil) whose tags include every pair of `tags`.
    public func members(status: MemberStatus? = .alive, tags: [String: String] = [:]) -> [ClusterMember] {
        members.filter { (status == nil || $0.status == status) && $0.matches(tags) }
    }

    /// Alive members whose tags include every pair of `tags` and that answered a probe of this
    /// member (every member, with a cluster key), in name order: what a worker registry may
    /// hand out. A member only others vouch for may not exist (without a key anyone can
    /// announce one).
    func answeringMembers(tags: [String: String]) -> [ClusterMember] {
        answeringMembersAndRevision(tags: tags).members
    }

    /// ``answeringMembers(tags:)`` and the ``workersRevision`` it was read at, taken together.
    func answeringMembersAndRevision(tags: [String: String]) -> (members: [ClusterMember], revision: UInt64) {
        let now = clock.now
        return shared.withLock { state in
            (state.instance.answeringMembers(tags: tags, now: now), state.instance.workerRevision)
        }
    }

    /// What changed in ``answeringMembers(tags:)`` after `revision`: each member whose entry
    /// changed since, with its view if it is now listed there and nil if not, and the revision
    /// now. Nil when the changes since `revision` are no longer kept (then read the whole list).
    /// Costs a lookup per change, however large the cluster.
    func answeringMemberChanges(since revision: UInt64, tags: [String: String])
        -> (changes: [(name: String, member: ClusterMember?)], revision: UInt64)?
    {
        let now = clock.now
        return shared.withLock { state in
            guard let names = state.instance.workerChanges(since: revision) else { return nil }
            let changes = names.map { ($0, state.instance.answeringMember(named: $0, tags: tags, now: now)) }
            return (changes, state.instance.workerRevision)
        }
    }

    /// A number that moves whenever ``answeringMembers(tags:)`` may have changed (for any
    /// tags): a member joined, was forgotten, or changed status, address or tags, or answered
    /// a probe of this member for the first time at its address. It moves within the locked
    /// step that makes the change, so a reader that finds it where it was at its last
    /// ``answeringMembersAndRevision(tags:)`` or ``answeringMemberChanges(since:tags:)`` may
    /// keep using what that returned, and a change is seen by every read that starts after the
    /// step that made it, as with a read of the member table. One atomic load, no lock.
    var workersRevision: UInt64 {
        publishedWorkerRevision.load(ordering: .acquiring)
    }

    /// A new subscription to membership events, starting now.
    public var events: ClusterEvents { hub.subscribe() }

    /// The partition this member is in, if it detected one.
    public var partition: PartitionStatus? {
        shared.withLock { $0.instance.partition }
    }

    /// Counters and the current local health.
    public var statistics: MembershipStatistics {
        var statistics = shared.withLock { state in
            var statistics = state.statistics
            statistics.localHealth = state.instance.localHealth
            statistics.probes = state.instance.counters.probes
            statistics.failedProbes = state.instance.counters.failedProbes
            statistics.refutations = state.instance.counters.refutations
            statistics.unexpectedAnswers = state.instance.counters.unexpectedAnswers
            statistics.refusedRelays = state.instance.counters.refusedRelays
            statistics.oversizedTags = state.instance.counters.oversizedTags
            statistics.ignoredIncarnations = state.instance.counters.ignoredIncarnations
            statistics.withheld = state.instance.counters.withheld
            return statistics
        }
        statistics.sent = sentDatagrams.load(ordering: .relaxed)
        statistics.sentBytes = sentBytes.load(ordering: .relaxed)
        return statistics
    }
}
