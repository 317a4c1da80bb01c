import DequeModule
import Synchronization

/// Membership events for one subscriber, as an `AsyncSequence`.
///
/// Each subscriber has its own bounded buffer: a subscriber that falls behind loses the oldest
/// events, and its next element is ``ClusterEvent/lagged(dropped:)`` saying how many, so a slow
/// consumer never holds memory without bound nor stalls the membership. The sequence ends when
/// the membership shuts down.
public struct ClusterEvents: AsyncSequence, Sendable {
    public typealias Element = ClusterEvent

    let subscription: EventSubscription

    public func makeAsyncIterator() -> Iterator {
        Iterator(subscription: subscription)
    }

    /// Takes the events buffered so far without waiting (for simulations, which run on a
    /// virtual clock and cannot await).
    func drain() -> [ClusterEvent] {
        var drained: [ClusterEvent] = []
        while let event = subscription.poll() { drained.append(event) }
        return drained
    }

    /// Yields events in order; `nil` after shutdown.
    public struct Iterator: AsyncIteratorProtocol {
        let subscription: EventSubscription

        public mutating func next() async -> ClusterEvent? {
            await subscription.next()
        }
    }
}

/// One subscriber's buffer.
final class EventSubscription: Sendable {
    private struct State {
        var buffered: Deque<ClusterEvent> = []
        var dropped = 0
        var waiter: CheckedContinuation<ClusterEvent?, Never>?
        var finished = false
    }

    private let capacity: Int
    private let state = Mutex(State())
    private let onCancel: @Sendable (EventSubscription) -> Void

    init(capacity: Int, onCancel: @escaping @Sendable (EventSubscription) -> Void) {
        self.capacity = max(capacity, 1)
        self.onCancel = onCancel
    }

    func publish(_ event: ClusterEvent) {
        let waiter: CheckedContinuation<ClusterEvent?, Never>? = state.withLock { state in
            guard !state.finished else { return nil }
            if let waiter = state.waiter {
                state.waiter = nil
                return waiter
            }
            if state.buffered.count >= capacity {
                state.buffered.removeFirst()
                state.dropped += 1
            }
            state.buffered.append(event)
            return nil
        }
        waiter?.resume(returning: event)
    }

    func finish() {
        let waiter = state.withLock { state in
            state.finished = true
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(returning: nil)
    }

    /// The next buffered event, without waiting.
    func poll() -> ClusterEvent? {
        state.withLock { state in
            if state.dropped > 0 {
                defer { state.dropped = 0 }
                return .lagged(dropped: state.dropped)
            }
            return state.buffered.popFirst()
        }
    }

    func next() async -> ClusterEvent? {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<ClusterEvent?, Never>) in
                let ready: ClusterEvent?? = state.withLock { state in
                    if state.dropped > 0 {
                        defer { state.dropped = 0 }
                        return .some(.lagged(dropped: state.dropped))
                    }
                    if let event = state.buffered.popFirst() { return .some(event) }
                    if state.finished || Task.isCancelled { return .some(nil) }
                    state.waiter = continuation
                    return nil
                }
                if let ready { continuation.resume(returning: ready) }
            }
        } onCancel: {
            finish()
            onCancel(self)
        }
    }
}

/// The membership's subscribers.
final class EventHub: Sendable {
    private let subscribers = Mutex<[ObjectIdentifier: EventSubscription]>([:])
    private let closed = Atomic<Bool>(false)
    let capacity: Int

    init(capacity: Int) {
        self.capacity = capacity
    }

    func subscribe() -> ClusterEvents {
        let subscription = EventSubscription(capacity: capacity) { [weak self] subscription in
            _ = self?.subscribers.withLock { $0.removeValue(forKey: ObjectIdentifier(subscription)) }
        }
        if closed.load(ordering: .acquiring) {
            subscription.finish()
        } else {
            subscribers.withLock { $0[ObjectIdentifier(subscription)] = subscription }
        }
        return ClusterEvents(subscription: subscription)
    }

    func publish(_ event: ClusterEvent) {
        for subscriber in subscribers.withLock({ Array($0.values) }) { subscriber.publish(event) }
    }

    func finish() {
        closed.store(true, ordering: .releasing)
        for subscriber in subscribers.withLock({ Array($0.values) }) { subscriber.finish() }
        subscribers.withLock { $0.removeAll() }
    }
}
