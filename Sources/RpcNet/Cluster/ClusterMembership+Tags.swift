import Synchronization

/// Tags: set by any caller, published by the owner.
extension ClusterMembership {
    /// This member's tags: the ones last set, which the owner publishes as soon as it gets to
    /// them (at once when set on the owner).
    public var tags: [String: String] {
        shared.withLock { $0.desiredTags }
    }

    /// Publishes new tags (at a new incarnation); everyone sees ``ClusterEvent/nodeTagsUpdated(_:previous:)``.
    public func setTags(_ tags: [String: String]) throws(ClusterConfigurationError) {
        try changeTags { $0 = tags }
    }

    /// Sets one tag, keeping the others.
    public func setTag(_ key: String, to value: String) throws(ClusterConfigurationError) {
        try changeTags { $0[key] = value }
    }

    /// Removes one tag.
    public func removeTag(_ key: String) throws(ClusterConfigurationError) {
        try changeTags { $0.removeValue(forKey: key) }
    }

    /// Applies `change` to the tags last set and checks the result, both under the lock, so
    /// that concurrent changes from several threads all count; then has the owner publish the
    /// tags last set by the time it runs, so changes handed over in any order end the same.
    private func changeTags(_ change: (inout [String: String]) -> Void) throws(ClusterConfigurationError) {
        let settings = configuration.settings
        try shared.withLock { state throws(ClusterConfigurationError) in
            var tags = state.desiredTags
            change(&tags)
            try Configuration.validate(tags: tags, settings: settings)
            state.desiredTags = tags
        }
        owner.run(
            { self.step { state, now in state.instance.setTags(state.desiredTags, now: now) } },
            ifShutDown: stopWithoutOwner)
    }
}
