import CRpcNet
import Glibc

/// A non-blocking UDP socket owned by a reactor: creation, binding and batched I/O with typed errors.
///
/// Loop-thread only after creation. Both the QUIC endpoint and the plain datagram endpoint are
/// built on it.
final class UDPSocket {
    let fd: Int32
    let localAddress: SocketAddress
    /// Whether the kernel accepted UDP_SEGMENT (GSO) on this socket.
    let supportsGSO: Bool
    /// Whether the kernel may coalesce received datagrams of one flow (UDP_GRO); receive slots
    /// must then hold 64 KiB and ``ReceiveBatch`` splits them again.
    let usesGRO: Bool

    /// Creates a socket bound to `address` (port 0 picks a free port), with GRO when asked and
    /// supported, and with an error queue (``readError()``) when asked.
    init(
        binding address: SocketAddress, bufferSize: Int32 = 4 << 20, enableGRO: Bool = false,
        enableErrorQueue: Bool = false
    ) throws(TransportError) {
        let fd = socket(
            address.family, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0
        )
        guard fd >= 0 else { throw .system(operation: "socket", errno: errno) }
        var size = bufferSize
        _ = setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        _ = setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        if address.family == AF_INET6 {
            var on: Int32 = 1
            _ = setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &on, socklen_t(MemoryLayout<Int32>.size))
        }
        if enableErrorQueue { _ = rpcnet_udp_enable_error_queue(fd, address.family) }
        let bound = address.withSockAddr { Glibc.bind(fd, $0, $1) }
        guard bound == 0 else {
            let error = errno
            Glibc.close(fd)
            throw .system(operation: "bind \(address)", errno: error)
        }
        guard let local = SocketAddress(boundTo: fd)
        else {
            let error = errno
            Glibc.close(fd)
            throw .system(operation: "getsockname", errno: error)
        }
        self.fd = fd
        self.localAddress = local
        self.supportsGSO = rpcnet_udp_gso_supported(fd) != 0
        self.usesGRO = enableGRO && rpcnet_udp_enable_gro(fd) == 0
    }

    /// Closes the descriptor; the socket is unusable afterwards.
    func close() {
        Glibc.close(fd)
    }

    /// The next error the kernel queued about a datagram this socket sent (ICMP port or host
    /// unreachable, with the datagram's destination), if any. Only with `enableErrorQueue`.
    func readError() -> (destination: SocketAddress, errno: Int32)? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        var error: Int32 = 0
        while rpcnet_udp_read_error(fd, &storage, &length, &error) == 1 {
            guard error != 0,
                let destination = withUnsafeBytes(of: &storage, { SocketAddress($0.baseAddress!, length: Int(length)) })
            else { continue }
            return (destination, error)
        }
        return nil
    }

    /// Sends one datagram; returns false when the kernel buffer is full (UDP may drop).
    func send(_ bytes: UnsafeRawBufferPointer, to destination: SocketAddress) throws(TransportError) -> Bool {
        let sent = destination.withSockAddr { address, length in
            sendto(fd, bytes.baseAddress, bytes.count, Int32(MSG_DONTWAIT), address, length)
        }
        if sent >= 0 { return true }
        switch errno {
        case EAGAIN, EWOULDBLOCK, ENOBUFS: return false
        case EMSGSIZE: throw .messageTooLarge(size: bytes.count, limit: 65_507)
        case let error: throw .system(operation: "sendto \(destination)", errno: error)
        }
    }
}

/// Receive slots for `recvmmsg`: one contiguous allocation, reused for every batch.
final class ReceiveBatch {
    let slotSize: Int
    let slotCount: Int
    let buffer: UnsafeMutableRawPointer
    let meta: UnsafeMutablePointer<rpcnet_recv_meta>

    init(slotSize: Int, slotCount: Int) {
        self.slotSize = slotSize
        self.slotCount = slotCount
        buffer = .allocate(byteCount: slotSize * slotCount, alignment: 64)
        meta = .allocate(capacity: slotCount)
        meta.initialize(repeating: rpcnet_recv_meta(), count: slotCount)
    }

    deinit {
        buffer.deallocate()
        meta.deallocate()
    }

    /// Receives one batch from `socket` and calls `body` for each datagram (payload, source),
    /// splitting GRO-coalesced ones; truncated datagrams are reported with a nil source. Returns
    /// how many receive slots were filled.
    func receive(from socket: UDPSocket, _ body: (UnsafeRawBufferPointer, SocketAddress?) -> Void)
        throws(TransportError) -> Int
    {
        let count = rpcnet_udp_recv_batch(
            socket.fd, buffer.assumingMemoryBound(to: UInt8.self), slotSize, slotCount, meta)
        guard count >= 0 else { throw .system(operation: "recvmmsg", errno: -count) }
        for index in 0..<Int(count) {
            let info = meta[index]
            let payload = UnsafeRawBufferPointer(start: buffer + index * slotSize, count: info.length)
            if info.truncated != 0 {
                body(payload, nil)
                continue
            }
            let source = withUnsafeBytes(of: info.source) {
                SocketAddress($0.baseAddress!, length: Int(info.source_len))
            }
            guard info.segment_size > 0 else {
                body(payload, source)
                continue
            }
            let segment = info.segment_size
            var offset = 0
            repeat {
                let end = min(offset + segment, payload.count)
                body(UnsafeRawBufferPointer(rebasing: payload[offset..<end]), source)
                offset = end
            } while offset < payload.count
        }
        return Int(count)
    }
}
