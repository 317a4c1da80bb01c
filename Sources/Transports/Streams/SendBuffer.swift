import DequeModule

/// Bytes a stream has accepted from its writer and not yet seen acknowledged, in pinned memory.
///
/// QUIC stacks such as ngtcp2 do not copy stream data: they keep pointers into it until the peer
/// acknowledges it. So the buffer owns its chunks (allocated here, never moved) and frees a chunk
/// only when the acknowledged offset has passed its end. Offsets are stream offsets:
/// `acked ≤ sent ≤ end`.
struct SendBuffer: ~Copyable {
    private struct Chunk {
        let base: UnsafeMutableRawPointer
        let capacity: Int
        var count: Int
        /// Stream offset of `base`.
        let offset: UInt64
    }

    /// Smallest chunk allocated, so small messages share one allocation.
    private static let minimumChunk = 16 * 1024

    private var chunks: Deque<Chunk> = []
    /// Total bytes appended.
    private(set) var endOffset: UInt64 = 0
    /// Bytes handed to the transport.
    private(set) var sentOffset: UInt64 = 0
    /// Bytes the peer acknowledged.
    private(set) var ackedOffset: UInt64 = 0

    /// Bytes held: appended and not yet acknowledged.
    var buffered: Int { Int(endOffset - ackedOffset) }
    /// Bytes appended and not yet handed to the transport.
    var unsent: Int { Int(endOffset - sentOffset) }

    deinit {
        for chunk in chunks { chunk.base.deallocate() }
    }

    /// Copies `bytes` in, filling the last chunk's spare room before allocating.
    mutating func append(_ bytes: UnsafeRawBufferPointer) {
        var source = bytes
        while !source.isEmpty {
            if let last = chunks.last, last.count < last.capacity {
                let n = min(last.capacity - last.count, source.count)
                (last.base + last.count).copyMemory(from: source.baseAddress!, byteCount: n)
                chunks[chunks.count - 1].count += n
                endOffset += UInt64(n)
                source = UnsafeRawBufferPointer(rebasing: source[n...])
                continue
            }
            let capacity = max(Self.minimumChunk, source.count)
            let base = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
            chunks.append(Chunk(base: base, capacity: capacity, count: 0, offset: endOffset))
        }
    }

    /// Calls `body` with up to `maxRegions` contiguous regions of unsent bytes, in order; the
    /// pointers stay valid until those bytes are acknowledged. The region list lives on the
    /// stack: this runs once per packet.
    func withUnsentRegions<R>(maxRegions: Int, _ body: (UnsafeBufferPointer<UnsafeRawBufferPointer>) throws -> R)
        rethrows -> R
    {
        try withUnsafeTemporaryAllocation(of: UnsafeRawBufferPointer.self, capacity: max(maxRegions, 1)) { storage in
            var count = 0
            for chunk in chunks where count < maxRegions {
                let chunkEnd = chunk.offset + UInt64(chunk.count)
                guard chunkEnd > sentOffset else { continue }
                let start = Int(max(sentOffset, chunk.offset) - chunk.offset)
                storage.initializeElement(
                    at: count, to: UnsafeRawBufferPointer(start: chunk.base + start, count: chunk.count - start))
                count += 1
            }
            return try body(UnsafeBufferPointer(rebasing: storage[..<count]))
        }
    }

    /// Records that the transport took `count` more bytes.
    mutating func markSent(_ count: Int) {
        precondition(count <= unsent, "marked more bytes sent than were buffered")
        sentOffset += UInt64(count)
    }

    /// Records that the peer acknowledged everything below `offset` and frees passed chunks.
    mutating func acknowledge(upTo offset: UInt64) {
        let offset = min(offset, sentOffset)
        guard offset > ackedOffset else { return }
        ackedOffset = offset
        // A chunk can go once all its bytes are acknowledged and no append can land in it any more.
        while let first = chunks.first, first.offset + UInt64(first.count) <= ackedOffset,
            chunks.count > 1 || first.count == first.capacity
        {
            first.base.deallocate()
            chunks.removeFirst()
        }
    }

    /// Forgets bytes that were never sent (the stream was reset): they will never be acknowledged.
    mutating func discardUnsent() {
        endOffset = sentOffset
        while let last = chunks.last, last.offset >= sentOffset, chunks.count > 1 {
            last.base.deallocate()
            chunks.removeLast()
        }
        if let lastIndex = chunks.indices.last {
            chunks[lastIndex].count = min(chunks[lastIndex].count, Int(sentOffset - chunks[lastIndex].offset))
        }
    }
}
