import CRpcNet
import Glibc

/// Scratch space where a connection builds outgoing QUIC packets before one batched send.
///
/// Consecutive packets of equal size to the same destination form one GSO message (the last may
/// be shorter), so a burst of full-size packets costs one system call and one kernel traversal.
/// Without GSO each packet is its own `sendmmsg` entry.
final class PacketBatch {
    let packetCapacity: Int
    let maxPackets: Int
    private let buffer: UnsafeMutableRawPointer
    private var used = 0
    private var runs: [(offset: Int, length: Int, segment: Int)] = []
    /// Packets built since the last send, each a datagram on the wire (GSO or not).
    private(set) var packetCount = 0
    private let useGSO: Bool

    init(maxPacketSize: Int, maxPackets: Int, useGSO: Bool) {
        self.packetCapacity = maxPacketSize
        self.maxPackets = maxPackets
        self.useGSO = useGSO
        buffer = .allocate(byteCount: maxPacketSize * maxPackets, alignment: 64)
        runs.reserveCapacity(maxPackets)
    }

    deinit {
        buffer.deallocate()
    }

    var isFull: Bool { used + packetCapacity > packetCapacity * maxPackets }

    /// Where the next packet is to be written, with room for one full packet.
    var nextPacket: UnsafeMutableRawPointer { buffer + used }

    /// Bytes built since the last send.
    var byteCount: Int { used }

    /// Records that `length` bytes were written at ``nextPacket``.
    func commit(_ length: Int) {
        defer {
            used += length
            packetCount += 1
        }
        // GSO: the kernel splits a message into segments of the first packet's size; a run ends
        // after a shorter packet, at 64 segments, or at the 64 KiB datagram limit.
        if useGSO, let last = runs.last, length <= last.segment, last.length % last.segment == 0,
            last.length + length <= 65_000, last.length / last.segment < 64
        {
            runs[runs.count - 1].length += length
            return
        }
        runs.append((offset: used, length: length, segment: length))
    }

    /// How a batch left.
    enum SendOutcome: Equatable {
        /// Every packet was handed to the kernel.
        case sent
        /// The kernel refused some packets for now (socket buffer full): they are dropped, as
        /// the network might have, QUIC loss recovery resends their frames, and the caller
        /// should wait for the socket to become writable before building more.
        case blocked
        /// The destination cannot be reached from this socket at all (``isHardSendError(_:)``).
        case unreachable(errno: Int32)
    }

    /// Whether a send error means the destination cannot be reached from this socket, rather
    /// than a passing condition: a loopback-bound socket sending elsewhere (EINVAL), no route
    /// (ENETUNREACH, EHOSTUNREACH), an address family or local address that cannot be used.
    /// A firewall's refusal (EPERM) and a too-large datagram (EMSGSIZE) count as loss.
    static func isHardSendError(_ code: Int32) -> Bool {
        [EINVAL, ENETUNREACH, EHOSTUNREACH, EADDRNOTAVAIL, EAFNOSUPPORT, ENETDOWN].contains(code)
    }

    /// Sends everything built so far to `destination` and resets the batch.
    func send(on socket: UDPSocket, to destination: SocketAddress) -> SendOutcome {
        guard !runs.isEmpty else { return .sent }
        defer {
            used = 0
            packetCount = 0
            runs.removeAll(keepingCapacity: true)
        }
        return destination.withSockAddr { address, length in
            let items = runs.map { run in
                rpcnet_send_item(
                    data: UnsafePointer(buffer.assumingMemoryBound(to: UInt8.self) + run.offset), length: run.length,
                    destination: address, destination_len: length,
                    segment_size: run.length > run.segment ? run.segment : 0)
            }
            var index = 0
            while index < items.count {
                let sent = items[index...].withUnsafeBufferPointer {
                    rpcnet_udp_send_batch(socket.fd, $0.baseAddress, $0.count)
                }
                if sent < 0, Self.isHardSendError(-sent) { return .unreachable(errno: -sent) }
                // Anything else refused (a full buffer, a firewall, EMSGSIZE) is loss: skip the
                // message rather than retry it now.
                if sent < 0 { return -sent == EAGAIN || -sent == EWOULDBLOCK || -sent == ENOBUFS ? .blocked : .sent }
                guard sent > 0 else { break }
                index += Int(sent)
            }
            return index == items.count ? .sent : .blocked
        }
    }
}
