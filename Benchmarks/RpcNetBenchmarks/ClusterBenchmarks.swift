import Foundation
import Glibc
import Logging
import RpcNet
import Synchronization

/// The `cluster` section: membership over real UDP between separate processes on 127.0.0.1
/// (convergence, `kill -9` detection, graceful leave, idle cost), then simulated clusters of 100
/// and 1,000 members on the virtual clock. Default settings throughout (1 s protocol period).
struct ClusterBenchmarks {
    /// This executable, started again as each member process.
    let executable: String
    /// Whether to run the member processes, the simulations, or both.
    let processes: Bool
    let simulations: Bool
    let processMembers = 5

    func run() async throws {
        if processes {
            try realProcesses()
            say("")
        }
        if simulations {
            simulated(members: 100, lossRate: 0.1, minutes: 10)
            simulated(members: 1000, lossRate: 0, minutes: 10)
        }
    }

    // MARK: Real UDP, one process per member

    private func realProcesses() throws {
        say("cluster: \(processMembers) member processes over UDP on 127.0.0.1, default settings")
        let launched = MonotonicClock().now
        let seed = try MemberProcess(executable: executable, name: "p0", seedPort: nil)
        let all =
            try [seed]
            + (1..<processMembers).map {
                try MemberProcess(executable: executable, name: "p\($0)", seedPort: seed.port)
            }
        // Processes start one after another (each needs the seed's port), so most of the
        // convergence time is process start-up; the part after the last one is ready is shown too.
        let lastReady = MonotonicClock().now
        defer { for member in all { member.stop() } }
        let names = Set(all.map(\.name))
        let converged = try waitForAll(all, timeout: .seconds(10)) { member in
            member.lastTime(of: "JOINED", naming: names.subtracting([member.name]))
        }
        say(
            String(
                format: "  all %d see each other after launch:  %.3f s (%.3f s after the last was ready)",
                processMembers, seconds(launched, converged), seconds(lastReady, converged)))

        var survivors = all
        let detection = try departure(of: survivors.removeLast(), by: SIGKILL, seenAs: "FAILED", by: survivors)
        say(String(format: "  kill -9 marked failed by all:        %.3f s", detection))
        // SIGTERM makes a member call leave().
        let leave = try departure(of: survivors.removeLast(), by: SIGTERM, seenAs: "LEFT", by: survivors)
        say(String(format: "  graceful leave seen by all:          %.3f s", leave))

        // Idle cost of the survivors over 10 s.
        let before = survivors.map { $0.cpuTicks() }
        sleep(10)
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        let cpu = zip(survivors, before).map { member, start in Double(member.cpuTicks() - start) / ticks / 10 * 100 }
        let rss = survivors.map { Double($0.residentKiB()) / 1024 }
        say(
            String(
                format: "  idle member: CPU %.2f %% of a core (mean of %d over 10 s), RSS %.1f MiB",
                cpu.reduce(0, +) / Double(cpu.count), cpu.count, rss.reduce(0, +) / Double(rss.count)))
    }

    /// Sends `signal` to `member` and returns the seconds until every one of `observers` reported
    /// it as `kind`.
    private func departure(
        of member: MemberProcess, by signal: Int32, seenAs kind: String, by observers: [MemberProcess]
    ) throws -> Double {
        let signalled = MonotonicClock().now
        member.kill(signal: signal)
        let seen = try waitForAll(observers, timeout: .seconds(30)) { $0.lastTime(of: kind, naming: [member.name]) }
        return seconds(signalled, seen)
    }

    /// Waits until `time` gives an instant for every member; returns the latest.
    private func waitForAll(
        _ members: [MemberProcess], timeout: Duration, time: (MemberProcess) -> MonotonicInstant?
    ) throws -> MonotonicInstant {
        let deadline = MonotonicClock().now.advanced(by: timeout)
        while MonotonicClock().now < deadline {
            let times = members.map(time)
            if times.allSatisfy({ $0 != nil }) { return times.compactMap { $0 }.max()! }
            usleep(2_000)
        }
        throw BenchError("members did not all report within \(timeout)")
    }

    private func seconds(_ from: MonotonicInstant, _ to: MonotonicInstant) -> Double {
        Double(from.duration(to: to).nanoseconds) / 1e9
    }

    // MARK: Simulation

    private func simulated(members count: Int, lossRate: Double, minutes: Int) {
        let conditions = LinkConditions(latency: .microseconds(300), jitter: .microseconds(200), lossRate: lossRate)
        let simulation = ClusterSimulation(seed: UInt64(count), conditions: conditions)
        defer { simulation.shutdown() }
        say("cluster: \(count) simulated members, \(Int(lossRate * 100)) % loss, virtual clock, default settings")
        let wall = ContinuousClock()
        var started = wall.now
        do {
            try simulation.add("m0", index: 0)
            for index in 1..<count {
                try simulation.add("m\(index)", index: index, seeds: [ClusterSimulation.address(index / 2)])
            }
        } catch {
            say("  could not start: \(error)")
            return
        }
        let everyone = Set((0..<count).map { "m\($0)" })
        let converged = simulation.run(
            until: { simulation.everyoneSees(alive: everyone) }, step: .seconds(1), limit: .seconds(600))
        say(
            "  all joined and seen by all after:   \(converged.map { "\($0)" } ?? "never") virtual (\(wall.now - started) wall)"
        )
        simulation.run(for: .seconds(60))

        let sent = simulation.members.mapValues(\.statistics)
        started = wall.now
        simulation.run(for: .seconds(60 * minutes))
        let elapsed = wall.now - started
        let periods = Double(60 * minutes)
        let datagrams = simulation.members.map { Double($1.statistics.sent - sent[$0]!.sent) / periods }
        let bytes = simulation.members.map { Double($1.statistics.sentBytes - sent[$0]!.sentBytes) / periods }
        var failures = 0
        for events in simulation.events.values {
            for case .nodeFailed in events { failures += 1 }
        }
        say(
            String(
                format: "  %d virtual minutes: %.2f s wall (%.3f s per virtual minute); false failures: %d",
                minutes, Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18,
                (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18) / Double(minutes),
                failures))
        say(
            String(
                format: "  per member per period: %.2f datagrams (max %.2f), %.0f bytes (max %.0f)",
                datagrams.reduce(0, +) / Double(count), datagrams.max() ?? 0, bytes.reduce(0, +) / Double(count),
                bytes.max() ?? 0))

        let victim = "m\(count - 1)"
        simulation.kill(victim)
        let detected = simulation.run(
            until: { simulation.everyoneSees(victim, as: .failed) }, step: .milliseconds(100), limit: .seconds(120))
        say("  killed member marked failed by all: \(detected.map { "\($0)" } ?? "not within 120 s") virtual\n")
    }
}

/// One member running in its own process (`rpcnet-bench --cluster-member NAME`), reporting
/// membership events on its standard output with CLOCK_MONOTONIC timestamps, which are
/// comparable across processes.
final class MemberProcess: Sendable {
    let name: String
    let port: UInt16
    private let process: Process
    private let lines = Mutex<[String]>([])

    init(executable: String, name: String, seedPort: UInt16?) throws {
        self.name = name
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["--cluster-member", name] + (seedPort.map { ["--cluster-seed-port", "\($0)"] } ?? [])
        let output = Pipe()
        process.standardOutput = output
        // The member reads its standard input only to see it close: if this process dies,
        // whatever the way, its members exit too.
        process.standardInput = Pipe()
        try process.run()
        self.process = process
        // The first line is "READY <port>".
        let handle = output.fileHandleForReading
        guard let ready = Self.readLine(handle), ready.hasPrefix("READY "), let port = UInt16(ready.dropFirst(6)) else {
            process.terminate()
            throw BenchError("member \(name) did not start")
        }
        self.port = port
        Thread.detachNewThread { [self] in
            while let line = Self.readLine(handle) { lines.withLock { $0.append(line) } }
        }
    }

    /// The latest time among "`kind` <name> <ns>" lines for every name in `names`, once each
    /// has been reported.
    func lastTime(of kind: String, naming names: Set<String>) -> MonotonicInstant? {
        let reported = lines.withLock { lines in
            lines.compactMap { line -> (String, UInt64)? in
                let fields = line.split(separator: " ")
                guard fields.count == 3, fields[0] == kind, let ns = UInt64(fields[2]) else { return nil }
                return (String(fields[1]), ns)
            }
        }
        var latest: UInt64 = 0
        for name in names {
            guard let time = reported.first(where: { $0.0 == name })?.1 else { return nil }
            latest = max(latest, time)
        }
        return MonotonicInstant(nanoseconds: latest)
    }

    func kill(signal: Int32) {
        Glibc.kill(process.processIdentifier, signal)
    }

    func stop() {
        if process.isRunning { kill(signal: SIGKILL) }
        process.waitUntilExit()
    }

    /// User plus system CPU time, in clock ticks (/proc/PID/stat fields 14 and 15).
    func cpuTicks() -> Int {
        guard let stat = try? String(contentsOfFile: "/proc/\(process.processIdentifier)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return 0 }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        return (Int(fields[11]) ?? 0) + (Int(fields[12]) ?? 0)
    }

    /// Resident memory in KiB (/proc/PID/status VmRSS).
    func residentKiB() -> Int {
        guard let status = try? String(contentsOfFile: "/proc/\(process.processIdentifier)/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") })
        else { return 0 }
        return Int(line.split(separator: " ")[1]) ?? 0
    }

    private static func readLine(_ handle: FileHandle) -> String? {
        var bytes: [UInt8] = []
        while true {
            guard let byte = try? handle.read(upToCount: 1), let first = byte.first else {
                return bytes.isEmpty ? nil : String(decoding: bytes, as: UTF8.self)
            }
            if first == UInt8(ascii: "\n") { return String(decoding: bytes, as: UTF8.self) }
            bytes.append(first)
        }
    }

    /// The member process's body: joins through the seed (or starts one), prints "READY <port>",
    /// then one line per membership event; SIGTERM makes it leave gracefully and exit.
    static func runMember(name: String, seedPort: UInt16?) async throws {
        let reactor = try Reactor.start(name: "member")
        let endpoint = try await UDPDatagramEndpoint.bind(reactor: reactor, address: .loopback(), maxDatagramSize: 1400)
        // Standard output carries the event lines the parent reads; logs go to standard error.
        var logger = Logger(label: "rpcnet.cluster") { StreamLogHandler.standardError(label: $0) }
        logger.logLevel = .error
        let membership = try ClusterMembership(configuration: .init(name: name), transport: endpoint, logger: logger)
        Thread.detachNewThread {
            while let chunk = try? FileHandle.standardInput.read(upToCount: 64), !chunk.isEmpty {}
            exit(0)
        }
        let events = membership.events
        signal(SIGTERM, SIG_IGN)
        let termination = DispatchSource.makeSignalSource(signal: SIGTERM)
        termination.setEventHandler {
            Task {
                await membership.leave()
                exit(0)
            }
        }
        termination.resume()
        if let seedPort { membership.startJoining(seeds: [.loopback(port: seedPort)]) } else { membership.start() }
        emit("READY \(endpoint.localAddress.port)")
        for await event in events {
            let now = MonotonicClock().now.nanoseconds
            switch event {
            case .nodeJoined(let member): emit("JOINED \(member.name) \(now)")
            case .nodeFailed(let member): emit("FAILED \(member.name) \(now)")
            case .nodeLeft(let member): emit("LEFT \(member.name) \(now)")
            case .nodeRecovered(let member): emit("RECOVERED \(member.name) \(now)")
            default: break
            }
        }
        termination.cancel()
    }

    private static func emit(_ line: String) {
        say(line)  // unbuffered: the parent reads each line as it is written
    }
}

/// A benchmark that could not run as set up.
struct BenchError: Error, CustomStringConvertible {
    let description: String

    init(_ description: String) {
        self.description = description
    }
}
