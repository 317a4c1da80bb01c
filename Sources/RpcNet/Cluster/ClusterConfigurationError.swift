/// Why a membership configuration cannot be used.
public enum ClusterConfigurationError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The member name is empty or longer than 128 UTF-8 bytes.
    case invalidName(String)
    /// The tags exceed the size or count limit.
    case tagsTooLarge(bytes: Int, limit: Int)
    /// A setting is out of range.
    case invalidSetting(String)
    /// The address to announce cannot be reached by anyone (a wildcard or port 0, or no local
    /// address routes to the seed); the reason says why.
    case invalidAdvertiseAddress(String)

    public var description: String {
        switch self {
        case .invalidName(let name): "member name \"\(name)\" must be 1 to 128 UTF-8 bytes"
        case .tagsTooLarge(let bytes, let limit): "tags take \(bytes) bytes, more than the limit of \(limit)"
        case .invalidSetting(let reason): reason
        case .invalidAdvertiseAddress(let reason): "advertise address: \(reason)"
        }
    }
}

extension ClusterMembership.Configuration {
    func validate(maxDatagramSize: Int) throws(ClusterConfigurationError) {
        guard !name.isEmpty, name.utf8.count <= GossipCodec.maxNameLength else { throw .invalidName(name) }
        try Self.validate(tags: tags, settings: settings)
        guard settings.maxDatagramSize >= 512, maxDatagramSize >= 512 else {
            throw .invalidSetting("gossip needs datagrams of at least 512 bytes")
        }
        guard (settings.probeTimeout < settings.probeInterval) && (settings.probeTimeout > .zero) else {
            throw .invalidSetting("probeTimeout must be positive and shorter than probeInterval")
        }
        guard settings.indirectProbes >= 0, settings.gossipFanout >= 1, settings.retransmitMultiplier >= 1 else {
            throw .invalidSetting("indirectProbes, gossipFanout and retransmitMultiplier must be positive")
        }
        guard settings.suspicionMultiplier > 0, settings.suspicionMaxMultiplier >= 1 else {
            throw .invalidSetting("suspicion multipliers must be positive (the maximum at least 1)")
        }
    }

    static func validate(tags: [String: String], settings: SWIMSettings) throws(ClusterConfigurationError) {
        let bytes = tags.reduce(0) { $0 + $1.key.utf8.count + $1.value.utf8.count }
        guard bytes <= settings.maxTagBytes, tags.count <= GossipCodec.maxTagCount else {
            throw .tagsTooLarge(bytes: bytes, limit: settings.maxTagBytes)
        }
    }
}
