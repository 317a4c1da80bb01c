import Glibc
import Testing

@testable import Transports

@Suite("Addresses: one parser, one wording, names resolved off the loop")
struct AddressTests {
    @Test(
        "host:port in every form a person writes it",
        arguments: [
            ("10.0.0.5:61000", "10.0.0.5", 61000), ("director.example:61000", "director.example", 61000),
            ("[::1]:4433", "::1", 4433), ("localhost:0", "localhost", 0),
            ("worker_1.local:65535", "worker_1.local", 65535),
        ])
    func parses(text: String, host: String, port: Int) throws {
        let parsed = try HostAndPort(parsing: text)
        #expect(parsed == HostAndPort(host: host, port: UInt16(port)))
        #expect(parsed.description == text)
    }

    @Test(
        "every mistake names the text and what is wrong with it, in the same words",
        arguments: [
            ("127.0.0.1:99999", "port '99999' is not a number from 0 to 65535"),
            ("127.0.0.1:-1", "port '-1' is not a number from 0 to 65535"),
            ("127.0.0.1:", "port '' is not a number from 0 to 65535"), ("director", "no ':port'"),
            (":80", "no host before ':'"), ("fe80::1:80", "an IPv6 host must be in brackets, as in [::1]:4433"),
            ("[::1:80", "no ']' after the IPv6 host"),
            ("[director]:80", "'director' in brackets is not an IPv6 address"),
            ("dir ector:80", "'dir ector' is not a host name or IP address"),
        ])
    func refuses(text: String, reason: String) {
        #expect(throws: AddressError.malformed(text, reason: reason)) { try HostAndPort(parsing: text) }
        let wording = "\(AddressError.malformed(text, reason: reason))"
        #expect(wording == "invalid address '\(text)': \(reason) (expected \(AddressError.expectedForm))")
    }

    @Test("numeric hosts need no resolver; SocketAddress(parsing:) refuses names with a clear error")
    func numeric() async throws {
        #expect(try HostAndPort(parsing: "10.1.2.3:7").numericAddress == SocketAddress(ip: "10.1.2.3", port: 7))
        #expect(try await SocketAddress.resolve("[::1]:9") == SocketAddress(ip: "::1", port: 9))
        #expect(throws: AddressError.notNumeric("director.example:1")) {
            try SocketAddress(parsing: "director.example:1")
        }
    }

    @Test("a name is resolved by the system resolver (/etc/hosts), keeping the port")
    func resolvesNames() async throws {
        // `localhost` has a fast path; the resolver itself is asked here.
        let resolved = try await HostResolver.resolve(HostAndPort(host: "localhost", port: 4433), preferringFamily: nil)
        #expect(resolved.isLoopback)
        #expect(resolved.port == 4433)
    }

    @Test("wildcard and loopback are recognised")
    func kinds() throws {
        #expect(SocketAddress.anyIPv4.isWildcard && SocketAddress.anyIPv6.isWildcard)
        #expect(SocketAddress.wildcard(family: AF_INET6, port: 5) == SocketAddress(host: .ipv6(0, 0), port: 5))
        #expect(try SocketAddress(ip: "127.0.0.9", port: 1).isLoopback)
        #expect(try SocketAddress(ip: "::1", port: 1).isLoopback)
        #expect(try !SocketAddress(ip: "10.0.0.1", port: 1).isLoopback)
    }
}
