/// How many members have each status. The state machine keeps it up to date as statuses
/// change, so reading it costs nothing however large the cluster.
struct MemberStatusCounts: Equatable, Sendable {
    private var alive = 0
    private var suspect = 0
    private var failed = 0
    private var left = 0

    /// Members with `status`.
    subscript(status: MemberStatus) -> Int {
        get {
            switch status {
            case .alive: alive
            case .suspect: suspect
            case .failed: failed
            case .left: left
            }
        }
        set {
            switch status {
            case .alive: alive = newValue
            case .suspect: suspect = newValue
            case .failed: failed = newValue
            case .left: left = newValue
            }
        }
    }

    /// Counts a member that went from `old` to `new` (nil: unknown before, or forgotten).
    mutating func move(from old: MemberStatus?, to new: MemberStatus?) {
        guard old != new else { return }
        if let old { self[old] -= 1 }
        if let new { self[new] += 1 }
    }
}
