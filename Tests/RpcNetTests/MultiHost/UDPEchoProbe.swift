import ClusterExample

/// A UDP echo server and a probe that counts its echoes, as small Python programs run inside a
/// lab's hosts: they check the lab's own plumbing (names, links, faults) without RpcNet.
enum UDPEchoProbe {
    /// The echo server's port.
    static let port = 7007

    /// Echoes every datagram on `port`; prints `ready` once bound.
    private static let server = """
        import socket, sys
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("0.0.0.0", int(sys.argv[1])))
        print("ready", flush=True)
        while True:
            data, peer = s.recvfrom(2048)
            s.sendto(data, peer)
        """

    /// Sends `count` numbered datagrams to `host` (a name or address) and prints `echoes <n>`,
    /// the number of distinct ones echoed before half a second passes without one.
    private static let probe = """
        import socket, sys
        host, port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(0.5)
        for i in range(count):
            try:
                s.sendto(str(i).encode(), (host, port))
            except OSError:
                pass
        echoed = set()
        try:
            while True:
                echoed.add(s.recv(2048))
        except socket.timeout:
            pass
        print("echoes", len(echoed), flush=True)
        """

    /// Starts the echo server on `host` and waits until it is bound.
    static func startServer(in lab: NetworkLab, on host: String) async throws -> ChildProcess {
        let server = try lab.start(
            "udp-echo", on: host, command: ["python3", "-c", server, "\(port)"], timeLimit: .seconds(60))
        guard try await server.shows("ready", within: .seconds(10)) else {
            throw LabError(description: "the echo server did not start: \(server.output)")
        }
        return server
    }

    /// How many of `count` datagrams sent from `host` to `target` came back; nil if the probe
    /// did not report (its output is then in the test's failure).
    static func echoes(in lab: NetworkLab, from host: String, to target: String, count: Int = 200) async throws
        -> Int?
    {
        let probe = try lab.start(
            "udp-probe", on: host, command: ["python3", "-c", probe, target, "\(port)", "\(count)"],
            timeLimit: .seconds(20))
        guard try await probe.exitStatus(within: .seconds(15)) == 0,
            try await probe.shows("echoes", within: .seconds(2))
        else { return nil }
        return probe.first { $0.hasPrefix("echoes ") }.flatMap { Int($0.text.dropFirst("echoes ".count)) }
    }
}
