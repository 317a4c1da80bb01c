public import Transports

/// Why ``ClusterMembership/join(seeds:timeout:)-([SocketAddress],_)`` returned without joining.
public enum ClusterJoinError: Error, Equatable, Sendable, CustomStringConvertible {
    /// No seed answered within the timeout; the membership keeps trying in the background.
    case timedOut(after: Duration, seeds: [SocketAddress])
    /// The calling task was cancelled; the membership keeps trying in the background.
    case cancelled
    /// The membership was shut down (or left) while joining.
    case stopped
    /// A seed answered that a live member at `holder` already has this member's `name`. The
    /// membership stopped: taking part under that name would take the live member's place.
    case nameInUse(name: String, holder: SocketAddress)
    /// A seed's address does not parse or resolve.
    case badSeed(AddressError)

    public var description: String {
        switch self {
        case .timedOut(let after, let seeds):
            "no seed answered within \(after) (\(seeds.map(\.description).joined(separator: ", ")))"
        case .cancelled: "joining was cancelled"
        case .stopped: "the membership stopped while joining"
        case .nameInUse(let name, let holder):
            "the name '\(name)' is held by a live member at \(holder); choose another name, or stop that member first"
        case .badSeed(let error): "seed: \(error)"
        }
    }
}
