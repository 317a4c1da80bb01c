public import Glibc

/// An IPv4 or IPv6 address with a UDP port: the address type of every transport, real or simulated.
public struct SocketAddress: Hashable, Sendable, CustomStringConvertible {
    /// The IP part of a socket address, in network byte order.
    public enum Host: Hashable, Sendable {
        /// An IPv4 address as its 32 bits in network order.
        case ipv4(UInt32)
        /// An IPv6 address as its 128 bits in network order, high half first.
        case ipv6(UInt64, UInt64)
    }

    /// The IP address.
    public var host: Host
    /// The UDP port.
    public var port: UInt16

    /// Creates an address from its parts.
    public init(host: Host, port: UInt16) {
        self.host = host
        self.port = port
    }

    /// Parses a numeric address: `127.0.0.1:4433`, `[::1]:4433`; `localhost` means 127.0.0.1.
    /// Host names are refused here; ``resolve(_:)`` takes them.
    public init(parsing text: String) throws(AddressError) {
        let parsed = try HostAndPort(parsing: text)
        guard let numeric = parsed.numericAddress else { throw .notNumeric(text) }
        self = numeric
    }

    /// Parses `host:port` (see ``HostAndPort``) and resolves a host name off the calling thread.
    public static func resolve(_ text: String) async throws(AddressError) -> SocketAddress {
        try await HostAndPort(parsing: text).resolve()
    }

    /// The wildcard address of `family` (`0.0.0.0` or `::`) with `port`: what a socket binds to
    /// send to any host of that family.
    public static func wildcard(family: Int32, port: UInt16 = 0) -> SocketAddress {
        SocketAddress(host: family == AF_INET6 ? .ipv6(0, 0) : .ipv4(0), port: port)
    }

    /// `0.0.0.0:0`: any local IPv4 address, a port the kernel picks.
    public static let anyIPv4 = SocketAddress(host: .ipv4(0), port: 0)
    /// `[::]:0`: any local IPv6 address, a port the kernel picks.
    public static let anyIPv6 = SocketAddress(host: .ipv6(0, 0), port: 0)

    /// The local address the kernel would send from towards `destination` (no packet is sent:
    /// a UDP socket is connected and asked its name). Port 0.
    public static func localAddress(routingTo destination: SocketAddress) throws(TransportError) -> SocketAddress {
        let fd = socket(destination.family, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw .system(operation: "socket", errno: errno) }
        defer { close(fd) }
        guard destination.withSockAddr({ connect(fd, $0, $1) }) == 0 else {
            throw .system(operation: "route to \(destination)", errno: errno)
        }
        guard var local = SocketAddress(boundTo: fd) else { throw .system(operation: "getsockname", errno: errno) }
        local.port = 0
        return local
    }

    /// The local address socket `fd` is bound to (`getsockname`); nil when the call fails
    /// (`errno` says why) or the family is neither IPv4 nor IPv6.
    init?(boundTo fd: Int32) {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let named = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard named == 0,
            let local = withUnsafeBytes(of: &storage, { SocketAddress($0.baseAddress!, length: Int(length)) })
        else { return nil }
        self = local
    }

    /// Whether this is a wildcard address (`0.0.0.0`, `::`), which no peer can send to.
    public var isWildcard: Bool {
        switch host {
        case .ipv4(let bits): bits == 0
        case .ipv6(let high, let low): high == 0 && low == 0
        }
    }

    /// Whether this is a loopback address (127.0.0.0/8, `::1`).
    public var isLoopback: Bool {
        switch host {
        case .ipv4(let bits): UInt32(bigEndian: bits) >> 24 == 127
        case .ipv6(let high, let low): high == 0 && low == UInt64(1).bigEndian
        }
    }

    /// Creates an address from a numeric IP string (or `localhost`) and a port.
    public init(ip: String, port: UInt16) throws(AddressError) {
        let literal = ip == "localhost" ? "127.0.0.1" : ip
        var v4 = in_addr()
        if inet_pton(AF_INET, literal, &v4) == 1 {
            self.init(host: .ipv4(v4.s_addr), port: port)
            return
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, literal, &v6) == 1 {
            let (high, low) = withUnsafeBytes(of: v6) { raw in
                (
                    raw.loadUnaligned(fromByteOffset: 0, as: UInt64.self),
                    raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self)
                )
            }
            self.init(host: .ipv6(high, low), port: port)
            return
        }
        throw .notNumeric(ip)
    }

    /// Decodes a kernel socket address; nil for families other than IPv4 and IPv6.
    public init?(_ storage: UnsafeRawPointer, length: Int) {
        let family = storage.loadUnaligned(as: sa_family_t.self)
        switch Int32(family) {
        case AF_INET where length >= MemoryLayout<sockaddr_in>.size:
            let sin = storage.loadUnaligned(as: sockaddr_in.self)
            self.init(host: .ipv4(sin.sin_addr.s_addr), port: UInt16(bigEndian: sin.sin_port))
        case AF_INET6 where length >= MemoryLayout<sockaddr_in6>.size:
            let sin6 = storage.loadUnaligned(as: sockaddr_in6.self)
            let (high, low) = withUnsafeBytes(of: sin6.sin6_addr) { raw in
                (
                    raw.loadUnaligned(fromByteOffset: 0, as: UInt64.self),
                    raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self)
                )
            }
            self.init(host: .ipv6(high, low), port: UInt16(bigEndian: sin6.sin6_port))
        default:
            return nil
        }
    }

    /// The loopback address 127.0.0.1 with `port` (0 asks the kernel for a free one).
    public static func loopback(port: UInt16 = 0) -> SocketAddress {
        SocketAddress(host: .ipv4(UInt32(0x7F00_0001).bigEndian), port: port)
    }

    /// The address family (`AF_INET` or `AF_INET6`).
    public var family: Int32 {
        switch host {
        case .ipv4: AF_INET
        case .ipv6: AF_INET6
        }
    }

    /// Calls `body` with this address as a kernel `sockaddr` and its length.
    public func withSockAddr<R>(_ body: (UnsafePointer<sockaddr>, socklen_t) throws -> R) rethrows -> R {
        var storage = sockaddr_storage()
        let length = write(to: &storage)
        return try withUnsafePointer(to: &storage) { pointer in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { try body($0, length) }
        }
    }

    /// Writes this address into `storage` and returns its length.
    @discardableResult
    public func write(to storage: inout sockaddr_storage) -> socklen_t {
        withUnsafeMutableBytes(of: &storage) { raw in
            switch host {
            case .ipv4(let bits):
                var sin = sockaddr_in()
                sin.sin_family = sa_family_t(AF_INET)
                sin.sin_port = port.bigEndian
                sin.sin_addr.s_addr = bits
                raw.storeBytes(of: sin, as: sockaddr_in.self)
                return socklen_t(MemoryLayout<sockaddr_in>.size)
            case .ipv6(let high, let low):
                var sin6 = sockaddr_in6()
                sin6.sin6_family = sa_family_t(AF_INET6)
                sin6.sin6_port = port.bigEndian
                withUnsafeMutableBytes(of: &sin6.sin6_addr) { address in
                    address.storeBytes(of: high, toByteOffset: 0, as: UInt64.self)
                    address.storeBytes(of: low, toByteOffset: 8, as: UInt64.self)
                }
                raw.storeBytes(of: sin6, as: sockaddr_in6.self)
                return socklen_t(MemoryLayout<sockaddr_in6>.size)
            }
        }
    }

    /// The IP part as text (`127.0.0.1`, `::1`).
    public var ipString: String {
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        switch host {
        case .ipv4(let bits):
            var address = in_addr(s_addr: bits)
            inet_ntop(AF_INET, &address, &buffer, socklen_t(buffer.count))
        case .ipv6(let high, let low):
            var address = in6_addr()
            withUnsafeMutableBytes(of: &address) { raw in
                raw.storeBytes(of: high, toByteOffset: 0, as: UInt64.self)
                raw.storeBytes(of: low, toByteOffset: 8, as: UInt64.self)
            }
            inet_ntop(AF_INET6, &address, &buffer, socklen_t(buffer.count))
        }
        let bytes = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        return String(decoding: bytes, as: UTF8.self)
    }

    public var description: String {
        switch host {
        case .ipv4: "\(ipString):\(port)"
        case .ipv6: "[\(ipString)]:\(port)"
        }
    }
}
