/// A clock whose instants are ``MonotonicInstant``s: the real ``MonotonicClock`` or a
/// ``VirtualClock`` that only moves when a test says so.
///
/// Code that needs time (deadlines, protocol periods, retries) is generic over this protocol and
/// never reads the system clock directly; that is what makes simulations reproducible.
public protocol NetworkClock: Clock, Sendable where Instant == MonotonicInstant {}
