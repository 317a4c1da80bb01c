import FuzzSupport

@testable import RpcNet

/// Fuzzes `FrameDecoder` under arbitrary chunkings of one call's stream.
///
/// Input: a flags byte (bit 0: tight `WireLimits`, so limits are reached within small inputs),
/// a count byte `n` (mod 16) and `n` chunk sizes, then the stream. The stream is fed in chunks
/// of those sizes (cycled; 0 is an empty append), draining `next()` after each, then `finish()`.
///
/// Invariants: no trap; the chunked outcome (frames and the error, if any) equals decoding the
/// stream in one append, since chunk boundaries must not change what a stream means; every
/// decoded frame re-encodes (`Frame.encode(into:)`) to bytes that decode to an equal frame.
/// Decoded timeouts are whole microseconds and `CallTimeout` encodes those exactly, so call
/// headers compare with `==`.
func fuzzFrameDecoder(_ bytes: [UInt8]) {
    var input = FuzzInput(bytes)
    let limits = input.byte() & 1 == 0 ? WireLimits() : WireLimits.tight
    let chunkSizes = (0..<Int(input.byte() % 16)).map { _ in Int(input.byte()) }
    let stream = input.rest()

    let chunked = decode(stream, chunkSizes: chunkSizes, limits: limits)
    let whole = decode(stream, chunkSizes: [], limits: limits)
    fuzzCheck(chunked == whole, "chunking \(chunkSizes) changed the outcome: \(chunked) vs \(whole)")

    for frame in whole.frames {
        var encoded: [UInt8] = []
        frame.encode(into: &encoded)
        let again = decode(encoded, chunkSizes: [], limits: limits)
        fuzzCheck(again == DecodeOutcome(frames: [frame], error: nil), "\(frame) re-decoded as \(again)")
    }
}

/// What a stream decoded to: its frames up to the first error, and that error.
private struct DecodeOutcome: Equatable {
    var frames: [Frame] = []
    var error: WireError?
}

/// Decodes `stream` fed in chunks of `chunkSizes` (cycled; all of it at once when empty).
private func decode(_ stream: [UInt8], chunkSizes: [Int], limits: WireLimits) -> DecodeOutcome {
    var decoder = FrameDecoder(limits: limits)
    var outcome = DecodeOutcome()
    var offset = 0
    var chunk = 0
    do throws(WireError) {
        while offset < stream.count {
            let size = chunkSizes.isEmpty ? stream.count : chunkSizes[chunk % chunkSizes.count]
            chunk += 1
            let end = min(offset + size, stream.count)
            decoder.append(Array(stream[offset..<end]))
            offset = end
            while let frame = try decoder.next() { outcome.frames.append(frame) }
            // An endless run of empty chunks would never finish.
            if chunk > stream.count + chunkSizes.count { break }
        }
        if offset < stream.count { decoder.append(Array(stream[offset...])) }
        while let frame = try decoder.next() { outcome.frames.append(frame) }
        try decoder.finish()
    } catch {
        outcome.error = error
    }
    return outcome
}

extension WireLimits {
    /// Limits small enough that fuzz inputs of a few hundred bytes reach every one of them.
    static var tight: WireLimits {
        var limits = WireLimits()
        limits.maxMessageSize = 64
        limits.maxMethodNameLength = 16
        limits.maxMetadataSize = 48
        limits.maxMetadataEntries = 4
        limits.maxStatusMessageLength = 24
        limits.maxErrorDetailsSize = 24
        return limits
    }
}
