/// Ordered key/value pairs sent with a call header or a trailer, like HTTP headers: keys are
/// compared case-insensitively and may repeat.
public struct Metadata: Sendable, Hashable, ExpressibleByDictionaryLiteral, Sequence {
    /// The entries in the order they were added.
    public private(set) var entries: [(key: String, value: String)]

    /// Creates empty metadata.
    public init() {
        entries = []
    }

    public init(dictionaryLiteral elements: (String, String)...) {
        entries = elements.map { (key: $0.0, value: $0.1) }
    }

    /// Appends an entry.
    public mutating func add(_ key: String, _ value: String) {
        entries.append((key, value))
    }

    /// The first value for `key`, if any.
    public subscript(key: String) -> String? {
        entries.first { $0.key.lowercased() == key.lowercased() }?.value
    }

    /// The number of entries.
    public var count: Int { entries.count }

    public func makeIterator() -> IndexingIterator<[(key: String, value: String)]> {
        entries.makeIterator()
    }

    public static func == (lhs: Metadata, rhs: Metadata) -> Bool {
        lhs.entries.elementsEqual(rhs.entries) { $0.key == $1.key && $0.value == $1.value }
    }

    public func hash(into hasher: inout Hasher) {
        for entry in entries {
            hasher.combine(entry.key)
            hasher.combine(entry.value)
        }
    }
}
