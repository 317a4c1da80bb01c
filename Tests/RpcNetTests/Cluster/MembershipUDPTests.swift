import Testing

@testable import RpcNet

@Suite("Membership over real UDP on loopback")
struct MembershipUDPTests {
    @Test("three members on 127.0.0.1 converge, share tags, and see a leave", .timeLimit(.minutes(1)))
    func threeMembers() async throws {
        let reactor = try Reactor.start(name: "membership-udp")
        let key = ClusterKey.random()
        var members: [ClusterMembership] = []
        do {
            for index in 0..<3 {
                let endpoint = try await UDPDatagramEndpoint.bind(
                    reactor: reactor, address: .loopback(), maxDatagramSize: 1400)
                var configuration = ClusterMembership.Configuration(name: "udp\(index)", tags: ["index": "\(index)"])
                configuration.keys = [key]
                members.append(try ClusterMembership(configuration: configuration, transport: endpoint))
            }
            members[0].start()
            let events = members[0].events
            try await members[1].join(seeds: [members[0].address])
            try await members[2].join(seeds: [members[1].address])
            let everyone: Set = ["udp0", "udp1", "udp2"]
            try await eventually { members.allSatisfy { Set($0.members(status: .alive).map(\.name)) == everyone } }
            #expect(members[2].members(tags: ["index": "1"]).map(\.address) == [members[1].address])

            try members[1].setTag("role", to: "worker")
            try await eventually { members[0].members(tags: ["role": "worker"]).map(\.name) == ["udp1"] }

            await members[2].leave()
            try await eventually { members[0].members(status: .left).map(\.name) == ["udp2"] }
            var seen: [String] = []
            for await event in events {
                seen.append("\(event)")
                if case .nodeLeft(let member) = event, member.name == "udp2" { break }
            }
            #expect(seen.contains { $0.hasPrefix("nodeJoined(udp1") })
            #expect(seen.contains { $0.hasPrefix("nodeTagsUpdated(udp1") })
            #expect(members.map(\.statistics.totalDropped) == [0, 0, 0])
        } catch {
            for member in members { member.shutdown() }
            await reactor.shutdown()
            throw error
        }
        for member in members { member.shutdown() }
        await reactor.shutdown()
    }
}
