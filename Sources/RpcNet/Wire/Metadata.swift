/// Ordered key/value pairs sent with a call header or a trailer, like HTTP headers: keys are
/// compared ASCII-case-insensitively and may repeat.
///
/// A value is text (UTF-8) or binary. As in gRPC, the key says which: a key ending in `-bin`
/// carries bytes, every other key carries text (docs/PROTOCOL.md §3), so a peer can tell them
/// apart without a type field on the wire.
///
/// ```swift
/// var metadata: Metadata = ["request-id": "42"]
/// metadata.add("session-token-bin", binary: [0x01, 0xFE])
/// metadata["request-id"]                        // "42"
/// metadata.binaryValue(forKey: "session-token-bin")  // [0x01, 0xFE]
/// ```
public struct Metadata: Sendable, Hashable, ExpressibleByDictionaryLiteral, Sequence {
    /// One metadata value: text, or bytes under a `-bin` key.
    public enum Value: Sendable, Hashable, CustomStringConvertible, ExpressibleByStringLiteral {
        /// A UTF-8 text value.
        case string(String)
        /// Arbitrary bytes; only under a key ending in `-bin`.
        case binary([UInt8])

        private static let hexDigits = Array("0123456789abcdef")

        /// A text value.
        public init(stringLiteral value: String) {
            self = .string(value)
        }

        /// The value's bytes as they travel on the wire.
        var encoded: [UInt8] {
            switch self {
            case .string(let string): Array(string.utf8)
            case .binary(let bytes): bytes
            }
        }

        /// The text itself, or a binary value as lowercase hex: what a log line shows.
        public var description: String {
            switch self {
            case .string(let string): string
            case .binary(let bytes):
                String(bytes.flatMap { [Self.hexDigits[Int($0 >> 4)], Self.hexDigits[Int($0 & 0x0F)]] })
            }
        }
    }

    /// One entry.
    public typealias Element = (key: String, value: Value)

    /// The entries in the order they were added.
    public private(set) var entries: [Element]

    /// Creates empty metadata.
    public init() {
        entries = []
    }

    /// Creates metadata from values in order; text under a `-bin` key is stored as its bytes.
    public init(dictionaryLiteral elements: (String, Value)...) {
        entries = []
        for (key, value) in elements {
            switch value {
            case .string(let text): add(key, text)
            case .binary(let bytes): add(key, binary: bytes)
            }
        }
    }

    /// Whether values under `key` are binary: the key ends in `-bin`, in any case.
    public static func isBinaryKey(_ key: String) -> Bool {
        key.utf8.count >= 4 && matches(key.utf8.suffix(4), "-bin".utf8)
    }

    /// Appends a text value. Under a `-bin` key the text's UTF-8 bytes are stored as a binary value.
    public mutating func add(_ key: String, _ value: String) {
        entries.append((key, Self.isBinaryKey(key) ? .binary(Array(value.utf8)) : .string(value)))
    }

    /// Appends a binary value; `key` must end in `-bin`.
    public mutating func add(_ key: String, binary value: [UInt8]) {
        precondition(Self.isBinaryKey(key), "binary metadata needs a key ending in -bin, not \(key)")
        entries.append((key, .binary(value)))
    }

    /// Replaces every value under `key` with one text value.
    public mutating func replace(_ key: String, with value: String) {
        removeAll(key)
        add(key, value)
    }

    /// Removes every entry under `key`.
    public mutating func removeAll(_ key: String) {
        entries.removeAll { Self.matches($0.key, key) }
    }

    /// The first text value under `key`, if any.
    public subscript(key: String) -> String? {
        for entry in entries where Self.matches(entry.key, key) {
            if case .string(let string) = entry.value { return string }
        }
        return nil
    }

    /// The first binary value under `key`, if any.
    public func binaryValue(forKey key: String) -> [UInt8]? {
        for entry in entries where Self.matches(entry.key, key) {
            if case .binary(let bytes) = entry.value { return bytes }
        }
        return nil
    }

    /// Every value under `key`, in order.
    public func values(forKey key: String) -> [Value] {
        entries.filter { Self.matches($0.key, key) }.map(\.value)
    }

    /// The number of entries.
    public var count: Int { entries.count }

    /// Whether there is no entry.
    public var isEmpty: Bool { entries.isEmpty }

    /// Iterates the entries in order.
    public func makeIterator() -> IndexingIterator<[Element]> {
        entries.makeIterator()
    }

    private static func matches(_ stored: String, _ key: String) -> Bool {
        matches(stored.utf8, key.utf8)
    }

    private static func matches(_ stored: some Collection<UInt8>, _ key: some Collection<UInt8>) -> Bool {
        stored.elementsEqual(key) { lowercased($0) == lowercased($1) }
    }

    private static func lowercased(_ byte: UInt8) -> UInt8 {
        (0x41...0x5A).contains(byte) ? byte | 0x20 : byte
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
