import CRpcNet

/// A readiness watcher for one file descriptor on a reactor's loop. Loop-thread only; the owner
/// calls ``close()`` before dropping it.
final class ReactorIO {
    private let reactor: Reactor
    private let watcher: OpaquePointer
    private var handler: ((_ readable: Bool, _ writable: Bool) -> Void)?
    private var events: Int32
    private var started = false

    /// Watches `fd` for readability (and writability when `writable`), calling `handler` on the loop.
    init(
        reactor: Reactor, fd: Int32, writable: Bool = false,
        handler: @escaping (_ readable: Bool, _ writable: Bool) -> Void
    ) {
        reactor.assertOnLoopThread()
        self.reactor = reactor
        self.handler = handler
        events = Int32(RPCNET_EV_READ) | (writable ? Int32(RPCNET_EV_WRITE) : 0)
        watcher = rpcnet_io_new(fd, events, reactorIOThunk, nil)
        rpcnet_io_set_context(watcher, Unmanaged.passUnretained(self).toOpaque())
        rpcnet_io_start(reactor.loop, watcher)
        started = true
    }

    deinit {
        precondition(handler == nil, "ReactorIO dropped without close()")
        rpcnet_io_free(watcher)
    }

    /// Adds or removes interest in writability (to resume sending after EAGAIN).
    func setWantsWrite(_ wantsWrite: Bool) {
        let wanted = Int32(RPCNET_EV_READ) | (wantsWrite ? Int32(RPCNET_EV_WRITE) : 0)
        guard wanted != events, handler != nil, !reactor.isLoopReleased else { return }
        events = wanted
        rpcnet_io_stop(reactor.loop, watcher)
        rpcnet_io_set_events(watcher, wanted)
        rpcnet_io_start(reactor.loop, watcher)
    }

    /// Stops watching for good.
    func close() {
        if started, !reactor.isLoopReleased { rpcnet_io_stop(reactor.loop, watcher) }
        started = false
        handler = nil
    }

    fileprivate func fire(_ revents: Int32) {
        reactor.noteActivity()
        handler?(revents & Int32(RPCNET_EV_READ) != 0, revents & Int32(RPCNET_EV_WRITE) != 0)
    }
}

private let reactorIOThunk: rpcnet_watcher_cb = { context, revents in
    Unmanaged<ReactorIO>.fromOpaque(context!).takeUnretainedValue().fire(revents)
}
