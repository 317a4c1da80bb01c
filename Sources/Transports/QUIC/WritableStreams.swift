import DequeModule

/// The streams of a connection that have bytes or a FIN to send, in the round-robin order
/// flushing serves them, each at most once. Owned by the connection's loop thread.
struct WritableStreams {
    private var queue: Deque<TransportStream> = []
    private var ids: Set<Int64> = []

    /// The stream served next.
    var first: TransportStream? { queue.first }

    /// Queues `stream` at the back unless it is queued already.
    mutating func insert(_ stream: TransportStream) {
        guard ids.insert(stream.id).inserted else { return }
        queue.append(stream)
    }

    /// Takes `stream` out of the queue, if it is in it.
    mutating func remove(_ stream: TransportStream) {
        guard ids.remove(stream.id) != nil, let index = queue.firstIndex(where: { $0 === stream }) else { return }
        queue.remove(at: index)
    }

    /// Takes the front stream out of the queue.
    mutating func removeFirst() {
        ids.remove(queue.removeFirst().id)
    }

    /// Moves the front stream to the back, so busy streams take turns packet by packet.
    mutating func rotate() {
        if queue.count > 1 { queue.append(queue.removeFirst()) }
    }

    /// Empties the queue.
    mutating func removeAll() {
        queue.removeAll()
        ids.removeAll()
    }
}
