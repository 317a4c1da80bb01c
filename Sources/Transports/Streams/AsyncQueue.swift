import DequeModule
import Synchronization

/// A bounded multi-producer, multi-consumer queue: producers never wait (a full queue rejects the
/// element), consumers suspend until an element arrives or the queue finishes.
///
/// Used for what transports hand to the application: accepted connections, accepted streams,
/// received datagrams. The bound is what keeps memory finite when the application falls behind.
final class AsyncQueue<Element: Sendable>: Sendable {
    private struct Waiter {
        let id: UInt64
        let continuation: CheckedContinuation<Element?, any Error>
    }

    private struct State {
        var elements: Deque<Element> = []
        var waiters: Deque<Waiter> = []
        var finished: (any Error)?? = .none
        var nextWaiterID: UInt64 = 0
    }

    private enum Immediate {
        case element(Element?)
        case failure(any Error)
        case wait
    }

    private let capacity: Int
    private let state = Mutex(State())

    init(capacity: Int) {
        self.capacity = capacity
    }

    /// Adds `element`; returns false when the queue is full or finished (the element is dropped).
    @discardableResult
    func push(_ element: Element) -> Bool {
        let outcome: (accepted: Bool, waiter: Waiter?) = state.withLock { state in
            if state.finished != nil { return (false, nil) }
            if let waiter = state.waiters.popFirst() { return (true, waiter) }
            guard state.elements.count < capacity else { return (false, nil) }
            state.elements.append(element)
            return (true, nil)
        }
        outcome.waiter?.continuation.resume(returning: element)
        return outcome.accepted
    }

    /// Ends the queue: waiting and later consumers get the remaining elements, then `nil`
    /// (or `error`, when one is given).
    func finish(throwing error: (any Error)? = nil) {
        let waiters: Deque<Waiter> = state.withLock { state in
            guard state.finished == nil else { return [] }
            state.finished = .some(error)
            defer { state.waiters.removeAll() }
            return state.waiters
        }
        for waiter in waiters {
            if let error {
                waiter.continuation.resume(throwing: error)
            } else {
                waiter.continuation.resume(returning: nil)
            }
        }
    }

    /// Ends the queue like ``finish(throwing:)`` and returns the elements nobody took, which
    /// later consumers will not see: an owner that is closing releases what the queue held
    /// (elements that refer back to the owner would otherwise keep it alive).
    @discardableResult
    func finishDiscardingElements() -> [Element] {
        finish()
        return state.withLock { state in
            defer { state.elements.removeAll() }
            return Array(state.elements)
        }
    }

    /// Takes the next element, waiting for one; `nil` once finished and drained.
    func next() async throws -> Element? {
        let id: UInt64 = state.withLock { state in
            state.nextWaiterID += 1
            return state.nextWaiterID
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Element?, any Error>) in
                let immediate: Immediate = state.withLock { state in
                    if let element = state.elements.popFirst() { return .element(element) }
                    if let finished = state.finished {
                        if let error = finished { return .failure(error) }
                        return .element(nil)
                    }
                    if Task.isCancelled { return .failure(CancellationError()) }
                    state.waiters.append(Waiter(id: id, continuation: continuation))
                    return .wait
                }
                switch immediate {
                case .element(let element): continuation.resume(returning: element)
                case .failure(let error): continuation.resume(throwing: error)
                case .wait: break
                }
            }
        } onCancel: {
            let waiter: Waiter? = state.withLock { state in
                guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
                return state.waiters.remove(at: index)
            }
            waiter?.continuation.resume(throwing: CancellationError())
        }
    }
}
