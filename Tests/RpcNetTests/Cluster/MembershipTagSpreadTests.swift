import Testing

@testable import RpcNet

@Suite("Tag changes reach every member")
struct MembershipTagSpreadTests {
    /// A director and three workers that tag themselves as soon as they know the director, as
    /// the cluster example's workers do. Gossip alone left the director without a worker's tags
    /// until the next anti-entropy round (30 s) in 31–38 of 1,000 seeds.
    @Test("a worker's tags set right after joining reach the director within 2 s, for 300 seeds")
    func tagsAfterJoining() throws {
        var late: [UInt64] = []
        for seed in UInt64(1)...300 {
            let cluster = ClusterSimulation(
                seed: seed, conditions: LinkConditions(latency: .microseconds(100), jitter: .microseconds(200)))
            defer { cluster.shutdown() }
            try cluster.add("director", index: 0)
            cluster.run(for: .milliseconds(10))
            let names = ["worker-a", "worker-b", "worker-c"]
            var added = 0
            var tagged: Set<String> = []
            // Workers arrive a seed-dependent few steps apart and tag themselves once joined.
            for step in 0..<400 {
                while added < names.count, step >= added * Int(seed % 13) {
                    try cluster.add(names[added], index: added + 1, seeds: [ClusterSimulation.address(0)])
                    added += 1
                }
                for name in names where !tagged.contains(name) {
                    guard let worker = cluster.members[name], worker.member(named: "director") != nil else { continue }
                    try worker.setTags(["role": "worker", "label": name])
                    try worker.setTag("load", to: "0")
                    tagged.insert(name)
                }
                cluster.clock.advance(by: .microseconds(250))
            }
            cluster.run(for: .seconds(2))
            let director = try #require(cluster.members["director"])
            if names.contains(where: { director.member(named: $0)?.tags["role"] != "worker" }) { late.append(seed) }
        }
        #expect(late.isEmpty, "seeds where the director lacked a worker's tags after 2 s: \(late)")
    }
}
