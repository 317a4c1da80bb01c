import Transports

/// What a member remembers of one sender to turn replayed gossip away (§7.6 of PROTOCOL.md):
/// the sender's run (`boot`), the newest send time accepted in that run, and when news from it
/// last arrived.
///
/// Its limits: a datagram replayed within `window` of the sender's newest is accepted again
/// (membership updates are idempotent, so it repeats news without changing it), and once a
/// sender has been silent for `window`, a datagram from one of its earlier runs is accepted
/// (the price of not locking out a member whose wall clock stepped back).
struct ReplayRecord {
    private(set) var boot: UInt64
    private(set) var newest: UInt64
    private(set) var lastHeard: MonotonicInstant

    init(_ packet: GossipPacket, now: MonotonicInstant) {
        boot = packet.boot
        newest = packet.sentAt
        lastHeard = now
    }

    /// Whether `packet` may be news. In the same run, it must have been sent no more than
    /// `window` before the newest datagram seen. A different run must be a later one, since
    /// boots grow from run to run; an earlier one is accepted only once the sender has been
    /// silent for `window`, so a member whose wall clock stepped back across a restart is
    /// locked out for that long at most.
    func accepts(_ packet: GossipPacket, window: Duration, now: MonotonicInstant) -> Bool {
        if packet.boot == boot { return packet.sentAt &+ UInt64(window.nanoseconds) >= newest }
        return packet.boot > boot || lastHeard.advanced(by: window) <= now
    }

    /// Notes an accepted `packet`. Only news moves `lastHeard`: a copy of an older datagram
    /// replayed within the window must not keep a silent sender looking alive, or its last
    /// window of traffic could be replayed for ever after it stopped.
    mutating func record(_ packet: GossipPacket, now: MonotonicInstant) {
        if packet.boot != boot {
            boot = packet.boot
            newest = packet.sentAt
            lastHeard = now
        } else if packet.sentAt > newest {
            newest = packet.sentAt
            lastHeard = now
        }
    }
}
