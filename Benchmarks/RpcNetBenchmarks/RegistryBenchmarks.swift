import Foundation
import Logging
import Metrics
import RpcNet

/// The `registry` section (not in the default): what handing out a worker costs on a director,
/// `WorkerRegistry.select()` and the lease's release, with 10, 100 and 1,000 members (the
/// director and the rest workers, tagged `role=worker` and half of them `zone=a`).
///
/// The cluster runs on the simulated network and the virtual clock, with a cluster key (so every
/// member counts as having answered a probe at once), until the director's registry lists every
/// worker; the clock then stands still, so no membership change happens while selections are
/// timed. Each figure is the median, over 7 rounds of at least 50 ms each, of the time per
/// selection and release on one thread.
struct RegistryBenchmarks {
    let sizes = [10, 100, 1000]
    let rounds = 7

    func run() throws {
        say("registry: WorkerRegistry.select() + release on the director of a simulated cluster (median ns)")
        say(
            "  members   "
                + LoadBalancingStrategy.allCases.map { "\($0)".padding(toLength: 18, withPad: " ", startingAt: 0) }
                .joined() + "LeastConnections, zone=a")
        for size in sizes { try measure(members: size) }
    }

    private func measure(members count: Int) throws {
        let simulation = ClusterSimulation(seed: UInt64(count))
        defer { simulation.shutdown() }
        let key = ClusterKey.random()
        let director = try simulation.add("director", index: 0, keys: [key])
        for index in 1..<count {
            try simulation.add(
                "w\(index)", index: index, seeds: [ClusterSimulation.address(index / 2)],
                tags: ["role": "worker", "zone": index % 2 == 0 ? "a" : "b"], keys: [key])
        }
        func registry(_ strategy: LoadBalancingStrategy) -> WorkerRegistry {
            WorkerRegistry(
                membership: director, strategy: strategy, randomSeed: 1, logger: ClusterSimulation.quiet,
                metricsFactory: NOOPMetricsHandler.instance)
        }
        let probe = registry(.roundRobin)
        let converged = simulation.run(
            until: { probe.workers.count == count - 1 }, step: .seconds(1), limit: .seconds(600))
        guard converged != nil else {
            say("  \(count): the director's registry did not list every worker within 600 s virtual")
            return
        }
        simulation.run(for: .seconds(10))
        var figures: [Double] = []
        for strategy in LoadBalancingStrategy.allCases {
            let registry = registry(strategy)
            figures.append(try nanosecondsPerSelection { try registry.select().release() })
        }
        let filtered = registry(.leastConnections)
        figures.append(try nanosecondsPerSelection { try filtered.select(matching: ["zone": "a"]).release() })
        say(
            "  "
                + "\(count)".padding(toLength: 10, withPad: " ", startingAt: 0)
                + figures.map { String(format: "%-18.0f", $0) }.joined())
    }

    /// The median over ``rounds`` rounds of `body`'s time per call, in nanoseconds; each round
    /// repeats it as often as a first calibration found takes 50 ms.
    private func nanosecondsPerSelection(_ body: () throws -> Void) throws -> Double {
        let clock = ContinuousClock()
        var batch = 16
        while true {
            let started = clock.now
            for _ in 0..<batch { try body() }
            if started.duration(to: clock.now) >= .milliseconds(50) { break }
            batch *= 2
        }
        var samples: [Double] = []
        for _ in 0..<rounds {
            let started = clock.now
            for _ in 0..<batch { try body() }
            let elapsed = started.duration(to: clock.now)
            let nanoseconds = Double(elapsed.components.seconds) * 1e9 + Double(elapsed.components.attoseconds) / 1e9
            samples.append(nanoseconds / Double(batch))
        }
        return samples.sorted()[samples.count / 2]
    }
}
