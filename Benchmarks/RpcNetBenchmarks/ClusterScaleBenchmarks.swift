import Foundation
import Metrics
import RpcNet
import Synchronization

/// The `cluster-scale` section (not in the default): one simulated cluster of `members` members
/// (default settings, 1 s protocol period, no loss, 300 ± 200 µs links; member i joins through
/// member i/2) on the virtual clock, run for `minutes` virtual minutes; then one new member joins
/// and the periods until every member sees it alive are counted.
///
/// Convergence is read from the membership's own `rpcnet.membership.members{status=alive}` gauge,
/// which it keeps from counts it maintains as statuses change: the benchmark's metrics factory
/// keeps each member's latest value in an atomic, so a check is one load per member (O(N)),
/// where comparing every member's list of alive members would be O(N²). The same factory counts
/// `rpcnet.membership.datagrams.sent` by kind and by member.
struct ClusterScaleBenchmarks {
    let members: Int
    let minutes: Int
    /// Virtual seconds run after convergence before the measured minutes.
    let settle = 10

    func run() {
        let count = members
        let probes = ScaleProbes()
        let conditions = LinkConditions(latency: .microseconds(300), jitter: .microseconds(200), lossRate: 0)
        let simulation = ClusterSimulation(seed: UInt64(count), conditions: conditions)
        simulation.metricsFactory = probes
        defer { simulation.shutdown() }
        say("cluster-scale: \(count) simulated members, no loss, virtual clock, default settings (1 s period)")
        say(
            "  convergence read from each member's alive-members gauge (one atomic load per member per check,"
                + " checked every virtual second)")
        let wall = ContinuousClock()
        let begun = wall.now
        var perMember: [MemberProbe] = []
        perMember.reserveCapacity(count + 1)
        do {
            try simulation.add("m0", index: 0)
            perMember.append(probes.member("m0"))
            for index in 1..<count {
                try simulation.add("m\(index)", index: index, seeds: [ClusterSimulation.address(index / 2)])
                perMember.append(probes.member("m\(index)"))
            }
        } catch {
            say("  could not start: \(error)")
            return
        }
        say("  \(count) members created and started: \(Self.format(wall.now - begun)) wall, RSS \(Self.rss())")

        // Build-up: until every member counts `count` alive members (itself included).
        var virtual = 0
        var lastReport = wall.now
        var converged: Int?
        let joinLimit = 600
        while virtual < joinLimit {
            let seeing = perMember.reduce(0) { $0 + ($1.alive.load(ordering: .relaxed) == count ? 1 : 0) }
            if seeing == count {
                converged = virtual
                break
            }
            if virtual % 10 == 0 || wall.now - lastReport > .seconds(15) {
                let least = perMember.map { $0.alive.load(ordering: .relaxed) }.min() ?? 0
                say(
                    "    \(virtual) s virtual, \(Self.format(wall.now - begun)) wall: \(seeing) of \(count) see all alive"
                        + " (fewest seen: \(least)), RSS \(Self.rss())")
                lastReport = wall.now
            }
            simulation.clock.advance(by: .seconds(1))
            virtual += 1
        }
        say(
            "  all joined and seen alive by all after: \(converged.map { "\($0) s" } ?? "not within \(joinLimit) s") virtual"
                + " (\(Self.format(wall.now - begun)) wall to build up), RSS \(Self.rss())")
        simulation.clock.advance(by: .seconds(settle))

        // The measured minutes.
        let names = (0..<count).map { "m\($0)" }
        let before = names.map { simulation.members[$0]!.statistics }
        let kindsBefore = probes.sentByKind()
        let sentBefore = perMember.map { $0.sent.load(ordering: .relaxed) }
        var previous = sentBefore
        var busiestPeriod = 0
        let usageBefore = ProcessUsage.now
        let measured = wall.now
        var minuteStarted = wall.now
        for minute in 1...minutes {
            for _ in 0..<60 {
                simulation.clock.advance(by: .seconds(1))
                for (index, probe) in perMember.enumerated() {
                    let sent = probe.sent.load(ordering: .relaxed)
                    busiestPeriod = max(busiestPeriod, sent - previous[index])
                    previous[index] = sent
                }
            }
            say(
                "    minute \(minute): \(Self.format(wall.now - minuteStarted)) wall (\(Self.format(wall.now - measured)) in all),"
                    + " RSS \(Self.rss())")
            minuteStarted = wall.now
        }
        let elapsed = Self.seconds(wall.now - measured)
        let cpu = Self.seconds(ProcessUsage.now.cpu - usageBefore.cpu)
        let periods = Double(60 * minutes)
        let after = names.map { simulation.members[$0]!.statistics }
        let datagrams = zip(before, after).map { Double($1.sent - $0.sent) / periods }
        let bytes = zip(before, after).map { Double($1.sentBytes - $0.sentBytes) / periods }
        let failures = after.reduce(0) { $0 + $1.failedProbes } - before.reduce(0) { $0 + $1.failedProbes }
        let alive = perMember.reduce(0) { $0 + ($1.alive.load(ordering: .relaxed) == count ? 1 : 0) }
        say(
            String(
                format:
                    "  %d virtual minutes: %.2f s wall (%.2f s per virtual minute, CPU %.2f s); failed probes: %d;"
                    + " members seeing all %d alive at the end: %d",
                minutes, elapsed, elapsed / Double(minutes), cpu, failures, count, alive))
        say(
            String(
                format:
                    "  per member per period: %.2f datagrams (max member %.2f; busiest single member-period %d),"
                    + " %.0f bytes (max member %.0f)",
                datagrams.reduce(0, +) / Double(count), datagrams.max() ?? 0, busiestPeriod,
                bytes.reduce(0, +) / Double(count), bytes.max() ?? 0))
        let kindsAfter = probes.sentByKind()
        say(
            "  datagrams per member per period by kind: "
                + kindsAfter.keys.sorted().compactMap { kind -> String? in
                    let sent = Double(kindsAfter[kind]! - (kindsBefore[kind] ?? 0)) / periods / Double(count)
                    return sent > 0 ? String(format: "%@ %.3f", kind, sent) : nil
                }.joined(separator: ", "))

        joinSpread(simulation: simulation, probes: probes, perMember: perMember)
        say("  total \(Self.format(wall.now - begun)) wall, peak RSS \(Self.rss(peak: true))\n")
    }

    /// One new member joins the converged cluster; counts the periods until every member
    /// (the newcomer included) sees `count + 1` alive, in steps of 100 ms.
    private func joinSpread(simulation: ClusterSimulation, probes: ScaleProbes, perMember: [MemberProbe]) {
        let count = members
        let total = count + 1
        let newcomer = "m\(count)"
        do {
            try simulation.add(newcomer, index: count, seeds: [ClusterSimulation.address(count / 2)])
        } catch {
            say("  newcomer could not start: \(error)")
            return
        }
        let everyone = perMember + [probes.member(newcomer)]
        var learned = [Double?](repeating: nil, count: total)
        var step = 0
        let limit = 3000  // 300 s
        var known = 0
        while known < total && step < limit {
            simulation.clock.advance(by: .milliseconds(100))
            step += 1
            for (index, probe) in everyone.enumerated() where learned[index] == nil {
                if probe.alive.load(ordering: .relaxed) == total {
                    learned[index] = Double(step) / 10
                    known += 1
                }
            }
        }
        // The gauge counts; confirm by name that it is the newcomer they see alive.
        let confirmed = simulation.members.values.reduce(0) {
            $0 + ($1.member(named: newcomer)?.status == .alive ? 1 : 0)
        }
        let times = learned.compactMap { $0 }.sorted()
        func quantile(_ q: Double) -> String {
            guard !times.isEmpty else { return "-" }
            return String(format: "%.1f", times[min(times.count - 1, Int(Double(times.count) * q))])
        }
        let bound = 3 * log2(Double(total))
        say(
            "  join spread of one new member (periods of 1 s until seen alive): 50 % \(quantile(0.5)),"
                + " 90 % \(quantile(0.9)), 99 % \(quantile(0.99)), all \(known == total ? String(format: "%.1f", times.last!) : "not within 300") "
                + String(format: "(3·log2 N = %.1f); seen alive by name: %d of %d", bound, confirmed, total))
    }

    private static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    private static func format(_ duration: Duration) -> String {
        String(format: "%.1f s", seconds(duration))
    }

    /// Resident memory (or its peak) from /proc/self/status.
    private static func rss(peak: Bool = false) -> String {
        let key = peak ? "VmHWM:" : "VmRSS:"
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix(key) }),
            let kib = Int(line.split(separator: " ", omittingEmptySubsequences: true)[1])
        else { return "?" }
        return String(format: "%.0f MiB", Double(kib) / 1024)
    }
}

/// What the scale benchmark reads of one member: its latest alive-members gauge and the
/// datagrams it sent.
final class MemberProbe: Sendable {
    let alive = Atomic<Int>(0)
    let sent = Atomic<Int>(0)
}

/// A metrics factory that keeps the two instruments the scale benchmark reads and drops the rest.
final class ScaleProbes: MetricsFactory {
    private let members = Mutex<[String: MemberProbe]>([:])
    private let kinds = Mutex<[String: KindCounter]>([:])

    /// The probe of member `name` (made on first use).
    func member(_ name: String) -> MemberProbe {
        members.withLock { members in
            if let probe = members[name] { return probe }
            let probe = MemberProbe()
            members[name] = probe
            return probe
        }
    }

    /// Datagrams sent so far by all members, by kind.
    func sentByKind() -> [String: Int] {
        kinds.withLock { $0.mapValues { $0.value.load(ordering: .relaxed) } }
    }

    private func dimension(_ key: String, _ dimensions: [(String, String)]) -> String? {
        dimensions.first { $0.0 == key }?.1
    }

    func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler {
        guard label.hasSuffix("membership.datagrams.sent"), let name = dimension("member", dimensions),
            let kind = dimension("kind", dimensions)
        else { return NOOPMetricsHandler.instance }
        let total = kinds.withLock { kinds in
            if let counter = kinds[kind] { return counter }
            let counter = KindCounter()
            kinds[kind] = counter
            return counter
        }
        return SentCounter(member: member(name), kind: total)
    }

    func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
        guard label.hasSuffix("membership.members"), dimension("status", dimensions) == "alive",
            let name = dimension("member", dimensions)
        else { return NOOPMetricsHandler.instance }
        return AliveGauge(member: member(name))
    }

    func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler {
        NOOPMetricsHandler.instance
    }

    func destroyCounter(_ handler: any CounterHandler) {}
    func destroyRecorder(_ handler: any RecorderHandler) {}
    func destroyTimer(_ handler: any TimerHandler) {}
}

final class KindCounter: Sendable {
    let value = Atomic<Int>(0)
}

private final class SentCounter: CounterHandler, Sendable {
    let member: MemberProbe
    let kind: KindCounter

    init(member: MemberProbe, kind: KindCounter) {
        self.member = member
        self.kind = kind
    }

    func increment(by amount: Int64) {
        member.sent.add(Int(amount), ordering: .relaxed)
        kind.value.add(Int(amount), ordering: .relaxed)
    }

    func reset() {}
}

private final class AliveGauge: RecorderHandler, Sendable {
    let member: MemberProbe

    init(member: MemberProbe) {
        self.member = member
    }

    func record(_ value: Int64) {
        member.alive.store(Int(value), ordering: .relaxed)
    }

    func record(_ value: Double) {
        member.alive.store(Int(value), ordering: .relaxed)
    }
}
