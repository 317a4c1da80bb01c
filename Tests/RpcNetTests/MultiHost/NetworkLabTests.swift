import ClusterExample
import Foundation
import Testing

extension MultiHostTests {
    /// The lab itself: hosts reach each other by name through the switch, faults drop what they
    /// should, and nothing outlives the lab.
    @Suite("NetworkLab", .enabled(if: HostCommand.find("python3") != nil, "the lab's probes are Python programs"))
    struct NetworkLabTests {
        @Test("hosts reach each other by name, with certificates naming them", .timeLimit(.minutes(1)))
        func connectivity() async throws {
            try await withNetworkLab(hosts: ["server", "client"]) { lab in
                _ = try await UDPEchoProbe.startServer(in: lab, on: "server")
                #expect(try await UDPEchoProbe.echoes(in: lab, from: "client", to: "server") == 200)
                #expect(try await UDPEchoProbe.echoes(in: lab, from: "client", to: lab["server"].address) == 200)
                let certificate = try HostCommand.run(
                    lab.tools.certtool, ["-i", "--infile", lab.certificates.appendingPathComponent("server.pem").path])
                for name in ["DNSname: server", "DNSname: client", "IPAddress: 10.77.0.1", "IPAddress: 10.77.0.2"] {
                    #expect(certificate.contains(name), "\(certificate)")
                }
            }
        }

        @Test("loss drops some of a host's input, a partition all of it but loopback", .timeLimit(.minutes(1)))
        func faults() async throws {
            try await withNetworkLab(hosts: ["server", "client"]) { lab in
                _ = try await UDPEchoProbe.startServer(in: lab, on: "server")
                try lab.setLoss("server", probability: 0.5)
                // Each datagram is lost with probability 0.5: 0 or 200 echoes has odds 2^-199.
                let lossy = try #require(try await UDPEchoProbe.echoes(in: lab, from: "client", to: "server"))
                #expect(lossy > 0 && lossy < 200)
                try lab.setLoss("server", probability: 0)
                #expect(try await UDPEchoProbe.echoes(in: lab, from: "client", to: "server") == 200)

                try lab.partition("server")
                #expect(try await UDPEchoProbe.echoes(in: lab, from: "client", to: "server") == 0)
                #expect(try await UDPEchoProbe.echoes(in: lab, from: "server", to: "127.0.0.1") == 200)
                try lab.heal("server")
                #expect(try await UDPEchoProbe.echoes(in: lab, from: "client", to: "server") == 200)
            }
        }

        @Test(
            "teardown removes namespaces, hosts files, certificates and processes, stale labs too",
            .timeLimit(.minutes(1)))
        func teardown() async throws {
            let tools = try LabTools.installed.get()
            // A namespace as a crashed run leaves it: named after a process that no longer exists.
            let gone = Process()
            gone.executableURL = URL(fileURLWithPath: "/bin/true")
            try gone.run()
            gone.waitUntilExit()
            let stale = "\(LabNamespaces.prefix)\(gone.processIdentifier)-1-server"
            try tools.ip("netns", "add", stale)
            try LabNamespaces.writeHosts([], for: stale)

            var server: ChildProcess?
            let lab = try await withNetworkLab(hosts: ["server", "client"]) { lab in
                #expect(try !LabNamespaces.list(tools).contains(stale))
                #expect(!FileManager.default.fileExists(atPath: "/etc/netns/\(stale)"))
                server = try await UDPEchoProbe.startServer(in: lab, on: "server")
                #expect(try Set(LabNamespaces.list(tools)).isSuperset(of: lab.namespaces))
                return lab
            }
            let remaining = try LabNamespaces.list(tools)
            for namespace in lab.namespaces {
                #expect(!remaining.contains(namespace))
                #expect(!FileManager.default.fileExists(atPath: "/etc/netns/\(namespace)"))
            }
            #expect(!FileManager.default.fileExists(atPath: lab.certificates.path))
            #expect(server?.isRunning == false)
            #expect(throws: LabError.self) { try lab.partition("server") }
        }
    }
}
