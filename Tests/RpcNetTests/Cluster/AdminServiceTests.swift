import Foundation
import Synchronization
import Testing
import Transports

@testable import RpcNet

@Suite("Admin service")
struct AdminServiceTests {
    @Test(
        "refused without credentials or with wrong ones; members, workers, statistics and events with a key or an allowed certificate"
    )
    func adminService() async throws {
        let workers = try SimulatedWorkers(workers: 2)
        let clock = workers.cluster.clock
        let network = workers.cluster.network
        let server = RPCServer(clock: clock, logger: ClusterSimulation.quiet)
        let key = ClusterKey.random()
        AdminService(
            membership: workers.registry.membership, registry: workers.registry, server: server,
            authorization: AdminAuthorization(identities: ["ops.example"], keys: [key])
        ).register(on: server)
        let listener = try network.listen(at: SocketAddress(host: ClusterSimulation.host(0), port: 9000))
        @Sendable func client(from index: Int, identity: String? = nil) -> RPCClient {
            var configuration = SimulatedConnectionConfiguration()
            configuration.identity = identity.map { PeerIdentity(commonName: "operator", dnsNames: [$0]) }
            return RPCClient(
                dialer: network.dialer(from: ClusterSimulation.host(index), configuration: configuration),
                address: listener.localAddress, clock: clock)
        }
        let withKey = CallOptions(metadata: [AdminAuthorization.tokenKey: .binary(AdminAuthorization.token(for: key))])
        let withOtherKey = CallOptions(
            metadata: [AdminAuthorization.tokenKey: .binary(AdminAuthorization.token(for: .random()))])
        try await workers.run {
            let serving = Task { await server.serve(listener) }
            let anonymous = client(from: 20)
            do {
                _ = try await anonymous.unary(AdminService.members, .init())
                Issue.record("a caller without credentials was let in")
            } catch let status as RPCStatus {
                #expect(status.code == .unauthenticated)
            }
            do {
                _ = try await anonymous.unary(AdminService.members, .init(), options: withOtherKey)
                Issue.record("a wrong cluster key was let in")
            } catch let status as RPCStatus {
                #expect(status.code == .permissionDenied)
            }
            do {
                _ = try await client(from: 21, identity: "intruder.example").unary(AdminService.members, .init())
                Issue.record("a certificate not allowed was let in")
            } catch let status as RPCStatus {
                #expect(status.code == .permissionDenied)
            }

            let members = try await anonymous.unary(AdminService.members, .init(), options: withKey).members
            #expect(members.map(\.name) == ["director", "w1", "w2"])
            #expect(members.allSatisfy { $0.status == "alive" })
            #expect(members.first { $0.name == "w1" }?.tags["role"] == "worker")
            let operatorClient = client(from: 22, identity: "ops.example")
            let pool = try await operatorClient.unary(AdminService.workers, .init()).workers
            #expect(pool.map(\.name) == ["w1", "w2"])
            #expect(pool.allSatisfy { $0.load == 0 })
            let statistics = try await operatorClient.unary(AdminService.statistics, .init())
            #expect(statistics.members == ["alive": 3])
            #expect(statistics.gossipSent > 0 && statistics.probes > 0)
            #expect(statistics.activeCalls == 1)

            let table = try AdminReport.render(Admin.Members(members: members), as: .table).split(separator: "\n")
            #expect(
                table.first?.split(separator: " ", omittingEmptySubsequences: true) == [
                    "NAME", "STATUS", "ADDRESS", "INCARNATION", "PHI", "TAGS",
                ])
            #expect(table.count == 4)
            #expect(
                table.contains { $0.hasPrefix("w1 ") && $0.contains(" alive ") && $0.hasSuffix("label=w1,role=worker") }
            )
            let json = try AdminReport.render(Admin.Workers(workers: pool), as: .json)
            let decoded = try JSONDecoder().decode(Admin.Workers.self, from: Data(json.utf8))
            #expect(decoded.workers == pool)
            #expect(json.hasPrefix("{\"workers\":[{\"address\":"))
            let joined = Task {
                try await operatorClient.serverStreaming(AdminService.events, .init()) { events in
                    for try await event in events where event.kind == "joined" { return event.member?.name }
                    return nil
                }
            }
            try await clock.sleep(for: .milliseconds(100))
            try workers.startWorker(index: 3)
            let name = try await joined.value
            #expect(name == "w3")
            anonymous.close()
            operatorClient.close()
            await server.shutdown(gracePeriod: .seconds(1))
            listener.close()
            await serving.value
        }
    }
}
