import CRpcNet

/// A one-shot timer on a reactor's loop. Loop-thread only: create, arm, stop and close it there.
///
/// The owner must call ``close()`` before dropping it; the timer holds its handler strongly, so a
/// handler that captures its owner weakly avoids a cycle.
public final class ReactorTimer {
    private let reactor: Reactor
    private let watcher: OpaquePointer
    private var handler: (() -> Void)?

    /// Creates a stopped timer that calls `handler` on the loop thread when it fires.
    public init(reactor: Reactor, handler: @escaping () -> Void) {
        reactor.assertOnLoopThread()
        self.reactor = reactor
        self.handler = handler
        watcher = rpcnet_timer_new(reactorTimerThunk, nil)
        rpcnet_timer_set_context(watcher, Unmanaged.passUnretained(self).toOpaque())
    }

    deinit {
        precondition(handler == nil, "ReactorTimer dropped without close()")
        rpcnet_timer_free(watcher)
    }

    /// Fires once after `delay`, replacing any earlier arming.
    public func arm(after delay: Duration) {
        guard handler != nil, !reactor.isLoopReleased else { return }
        rpcnet_timer_arm(reactor.loop, watcher, max(delay.seconds, 0))
    }

    /// Cancels a pending firing.
    public func stop() {
        guard !reactor.isLoopReleased else { return }
        rpcnet_timer_stop(reactor.loop, watcher)
    }

    /// Stops the timer for good and releases its handler.
    public func close() {
        stop()
        handler = nil
    }

    fileprivate func fire() {
        reactor.noteActivity()
        handler?()
    }
}

private let reactorTimerThunk: rpcnet_watcher_cb = { context, _ in
    Unmanaged<ReactorTimer>.fromOpaque(context!).takeUnretainedValue().fire()
}
