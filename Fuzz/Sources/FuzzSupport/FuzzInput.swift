/// A cursor over a fuzz input that harnesses draw decisions from (chunk sizes, event kinds,
/// names). Reading past the end yields zeros rather than failing, so every input is a valid
/// script and libFuzzer's mutations of any byte change a decision.
public struct FuzzInput {
    /// The whole input.
    public let bytes: [UInt8]
    /// Where the next read starts.
    public private(set) var index = 0

    /// A cursor at the start of `bytes`.
    public init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    /// Whether every byte has been read.
    public var isAtEnd: Bool { index >= bytes.count }

    /// Bytes not read yet.
    public var remaining: Int { max(bytes.count - index, 0) }

    /// The next byte, or 0 past the end.
    public mutating func byte() -> UInt8 {
        guard index < bytes.count else { return 0 }
        defer { index += 1 }
        return bytes[index]
    }

    /// A little-endian integer from the next `width` bytes (at most 8).
    public mutating func integer(width: Int) -> UInt64 {
        var value: UInt64 = 0
        for shift in 0..<min(width, 8) { value |= UInt64(byte()) << (8 * shift) }
        return value
    }

    /// The next `count` bytes (fewer at the end).
    public mutating func take(_ count: Int) -> [UInt8] {
        let end = min(index + max(count, 0), bytes.count)
        defer { index = max(index, end) }
        return index < end ? Array(bytes[index..<end]) : []
    }

    /// Everything not read yet.
    public mutating func rest() -> [UInt8] {
        take(remaining)
    }
}
