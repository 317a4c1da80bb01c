import Glibc

/// An address as a person writes it: a host — a name, an IPv4 address or a bracketed IPv6
/// address — and a port. `10.0.0.5:61000`, `director.example:61000`, `[fd00::5]:61000`,
/// `localhost:0`.
///
/// The one parser of addresses in RpcNet: every setting that takes an address (binds, dials,
/// seeds, the examples' flags) goes through it, so every mistake is reported in the same words
/// (``AddressError``). Parsing checks only the syntax; ``resolve(for:)`` turns a name into a
/// ``SocketAddress``.
public struct HostAndPort: Hashable, Sendable, CustomStringConvertible {
    /// The host as written, without IPv6 brackets.
    public var host: String
    /// The port (0 asks the kernel for a free one when binding).
    public var port: UInt16

    /// Creates an address from its parts (unchecked).
    public init(host: String, port: UInt16) {
        self.host = host
        self.port = port
    }

    /// The longest host name DNS allows (RFC 1035 §2.3.4).
    public static let maxHostLength = 253

    /// Parses `host:port` or `[ipv6]:port`.
    public init(parsing text: String) throws(AddressError) {
        let hostPart: Substring
        let portPart: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else {
                throw .malformed(text, reason: "no ']' after the IPv6 host")
            }
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else { throw .malformed(text, reason: "no ':port' after the IPv6 host") }
            hostPart = text[text.index(after: text.startIndex)..<close]
            portPart = rest.dropFirst()
        } else {
            guard let colon = text.lastIndex(of: ":") else { throw .malformed(text, reason: "no ':port'") }
            hostPart = text[..<colon]
            portPart = text[text.index(after: colon)...]
            if hostPart.contains(":") {
                throw .malformed(text, reason: "an IPv6 host must be in brackets, as in [::1]:4433")
            }
        }
        guard !hostPart.isEmpty else { throw .malformed(text, reason: "no host before ':'") }
        guard hostPart.utf8.count <= Self.maxHostLength else {
            throw .malformed(text, reason: "the host is longer than \(Self.maxHostLength) bytes")
        }
        let bracketed = text.hasPrefix("[")
        guard hostPart.utf8.allSatisfy({ Self.isHostByte($0, bracketed: bracketed) }) else {
            throw .malformed(text, reason: "'\(hostPart)' is not a host name or IP address")
        }
        guard !portPart.isEmpty, portPart.utf8.count <= 5, portPart.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }),
            let port = UInt16(portPart)
        else {
            throw .malformed(text, reason: "port '\(portPart)' is not a number from 0 to 65535")
        }
        if bracketed, (try? SocketAddress(ip: String(hostPart), port: port))?.family != AF_INET6 {
            throw .malformed(text, reason: "'\(hostPart)' in brackets is not an IPv6 address")
        }
        self.init(host: String(hostPart), port: port)
    }

    /// Letters, digits, '-', '.', '_' in names and IPv4 addresses; also ':' in bracketed IPv6
    /// addresses.
    private static func isHostByte(_ byte: UInt8, bracketed: Bool) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"):
            true
        case UInt8(ascii: ":"): bracketed
        default: false
        }
    }

    /// The address at once when the host is numeric or `localhost` (127.0.0.1); nil for a name
    /// that needs resolving.
    public var numericAddress: SocketAddress? {
        try? SocketAddress(ip: host, port: port)
    }

    /// Resolves the host (numeric ones at once, names with `getaddrinfo` on a thread of its
    /// own, never the reactor's loop thread), preferring the family of `peer` when given and
    /// IPv4 otherwise.
    public func resolve(for peer: SocketAddress? = nil) async throws(AddressError) -> SocketAddress {
        if let numericAddress { return numericAddress }
        return try await HostResolver.resolve(self, preferringFamily: peer?.family)
    }

    public var description: String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }
}

/// An address that could not be used: the one wording of every address mistake in RpcNet.
public enum AddressError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The text is not `host:port` (the reason says what is wrong).
    case malformed(String, reason: String)
    /// The host name did not resolve (the resolver's reason).
    case unresolvable(host: String, reason: String)
    /// A host that must be numeric (an IP address) is a name.
    case notNumeric(String)

    /// How addresses are written, for messages.
    public static let expectedForm = "host:port, e.g. 10.0.0.5:61000, director.example:61000 or [::1]:61000"

    public var description: String {
        switch self {
        case .malformed(let text, let reason): "invalid address '\(text)': \(reason) (expected \(Self.expectedForm))"
        case .unresolvable(let host, let reason): "cannot resolve host '\(host)': \(reason)"
        case .notNumeric(let text): "invalid address '\(text)': the host must be an IP address here"
        }
    }
}
