/// Where a datagram endpoint puts what it receives: the receive handler when one is installed
/// (a simulation steps its state machines inside the delivery), else a bounded queue that
/// ``DatagramTransport/receive()`` reads. The UDP, simulated and QUIC side-channel endpoints
/// share it.
final class DatagramInbox: Sendable {
    private let handler = DatagramHandlerSlot()
    private let queue: AsyncQueue<Datagram>

    /// An inbox queueing at most `capacity` datagrams while no handler is installed.
    init(capacity: Int) {
        queue = AsyncQueue(capacity: capacity)
    }

    /// Installs `body` as the receive handler (or goes back to queueing with `nil`).
    func setHandler(_ body: (@Sendable (Datagram) -> Void)?) {
        handler.set(body)
    }

    /// How to hand on datagrams now: the handler is read once, so a batch of datagrams costs
    /// one read.
    var delivery: Delivery {
        Delivery(handler: handler.current, queue: queue)
    }

    /// The next queued datagram; `nil` after ``finish()``.
    func next() async throws -> Datagram? {
        try await queue.next()
    }

    /// Ends the queue: waiting and later ``next()`` calls return `nil`. Drops the handler too:
    /// nothing is delivered any more, and a handler that captures its own endpoint (to answer
    /// from it) would otherwise keep the closed endpoint alive in a cycle.
    func finish() {
        handler.set(nil)
        queue.finish()
    }

    /// Hands datagrams to the handler read when it was made, or to the queue.
    struct Delivery {
        fileprivate let handler: (@Sendable (Datagram) -> Void)?
        fileprivate let queue: AsyncQueue<Datagram>

        /// Delivers `datagram`; false when the queue was full and it was dropped.
        func callAsFunction(_ datagram: Datagram) -> Bool {
            if let handler {
                handler(datagram)
                return true
            }
            return queue.push(datagram)
        }
    }
}
