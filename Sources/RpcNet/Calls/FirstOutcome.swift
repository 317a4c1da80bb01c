import Synchronization

/// A one-shot slot that several racers try to fill (a handler finishing, a timer expiring, the
/// peer aborting): the first value wins and wakes the one task waiting for it; later ones are
/// ignored. It lets a deadline be a clock callback instead of a task sleeping beside the work.
final class FirstOutcome<Value: Sendable>: Sendable {
    private enum State {
        case empty
        case waiting(CheckedContinuation<Value, Never>)
        case resolved(Value)
    }

    private let state = Mutex<State>(.empty)

    /// Offers `value`; returns false when another value won already. When it wins, `winning`
    /// runs before the waiting task is woken, so what the winner does is done when it wakes.
    @discardableResult
    func resolve(_ value: Value, winning: () -> Void = {}) -> Bool {
        let waiter: CheckedContinuation<Value, Never>?? = state.withLock { state in
            switch state {
            case .resolved: return nil
            case .empty:
                state = .resolved(value)
                return .some(nil)
            case .waiting(let continuation):
                state = .resolved(value)
                return .some(continuation)
            }
        }
        guard let waiter else { return false }
        winning()
        waiter?.resume(returning: value)
        return true
    }

    /// The winning value if there is one yet, without waiting.
    var resolvedValue: Value? {
        state.withLock { state in
            if case .resolved(let value) = state { return value }
            return nil
        }
    }

    /// The winning value, waiting for it if needed. Only one task may wait.
    var value: Value {
        get async {
            await withCheckedContinuation { (continuation: CheckedContinuation<Value, Never>) in
                let ready: Value? = state.withLock { state in
                    switch state {
                    case .resolved(let value): return value
                    case .empty:
                        state = .waiting(continuation)
                        return nil
                    case .waiting: preconditionFailure("only one task may wait for a FirstOutcome")
                    }
                }
                if let ready { continuation.resume(returning: ready) }
            }
        }
    }
}
