import Synchronization
import Transports

/// A datagram endpoint with no network behind it: the harness calls ``deliver(_:from:)`` to
/// hand the membership a datagram, and what the membership sends is only counted.
final class FakeTransport: DatagramTransport {
    let localAddress: SocketAddress
    let maxDatagramSize = 1400
    /// The harness's virtual clock, which delivers as its driver.
    let owner: any TransportOwner
    private let handler = Mutex<(@Sendable (Datagram) -> Void)?>(nil)
    private let sentCount = Mutex(0)

    init(localAddress: SocketAddress, owner: VirtualClock) {
        self.localAddress = localAddress
        self.owner = owner
    }

    /// Datagrams the membership sent so far.
    var sent: Int { sentCount.withLock { $0 } }

    /// Hands `payload` to the membership as if it arrived from `source`.
    func deliver(_ payload: [UInt8], from source: SocketAddress) {
        guard let handler = handler.withLock({ $0 }) else { return }
        owner.execute({ handler(Datagram(payload: payload, source: source)) }, ifShutDown: {})
    }

    func send(_ payload: [UInt8], to destination: SocketAddress) throws(TransportError) {
        guard payload.count <= maxDatagramSize else {
            fatalError("fuzz invariant: membership sent a \(payload.count)-byte datagram, over \(maxDatagramSize)")
        }
        sentCount.withLock { $0 += 1 }
    }

    func receive() async throws -> Datagram? { nil }

    func setReceiveHandler(_ handler: (@Sendable (Datagram) -> Void)?) {
        self.handler.withLock { $0 = handler }
    }

    func close() {
        setReceiveHandler(nil)
    }
}
