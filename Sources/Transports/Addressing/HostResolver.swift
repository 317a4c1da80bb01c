import Dispatch
import Glibc

/// Resolves host names with the system resolver (`getaddrinfo`: /etc/hosts, DNS, as configured).
///
/// `getaddrinfo` blocks for as long as the resolver takes, so it runs on a dispatch thread and
/// never on the reactor's loop thread or the cooperative pool.
enum HostResolver {
    /// The first address of `address.host`, of `family` when one exists, else IPv4 before IPv6.
    static func resolve(_ address: HostAndPort, preferringFamily family: Int32?) async throws(AddressError)
        -> SocketAddress
    {
        let result: Result<[SocketAddress], AddressError> = await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(returning: lookUp(address))
            }
        }
        let candidates = try result.get()
        let preferred = family ?? AF_INET
        guard let chosen = candidates.first(where: { $0.family == preferred }) ?? candidates.first else {
            throw .unresolvable(host: address.host, reason: "no IPv4 or IPv6 address")
        }
        return chosen
    }

    /// Every IPv4 and IPv6 address of the host, in the resolver's order (blocking).
    private static func lookUp(_ address: HostAndPort) -> Result<[SocketAddress], AddressError> {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_DGRAM.rawValue)
        hints.ai_flags = AI_ADDRCONFIG
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(address.host, nil, &hints, &list)
        guard status == 0 else {
            let reason = status == EAI_SYSTEM ? String(cString: strerror(errno)) : String(cString: gai_strerror(status))
            return .failure(.unresolvable(host: address.host, reason: reason))
        }
        defer { freeaddrinfo(list) }
        var found: [SocketAddress] = []
        var entry = list
        while let current = entry {
            if let raw = current.pointee.ai_addr,
                var resolved = SocketAddress(UnsafeRawPointer(raw), length: Int(current.pointee.ai_addrlen))
            {
                resolved.port = address.port
                if !found.contains(resolved) { found.append(resolved) }
            }
            entry = current.pointee.ai_next
        }
        return .success(found)
    }
}
