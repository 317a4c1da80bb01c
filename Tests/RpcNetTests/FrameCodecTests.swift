import Testing

@testable import RpcNet

@Suite("rpcnet/1 frame codec")
struct FrameCodecTests {
    /// Feeds `bytes` to a decoder in pieces of `chunk` bytes and collects every frame.
    private func decode(_ bytes: [UInt8], chunk: Int = .max, limits: WireLimits = WireLimits()) throws(WireError)
        -> [Frame]
    {
        var decoder = FrameDecoder(limits: limits)
        var frames: [Frame] = []
        var offset = 0
        while offset < bytes.count {
            let end = min(offset + chunk, bytes.count)
            decoder.append(Array(bytes[offset..<end]))
            offset = end
            while let frame = try decoder.next() { frames.append(frame) }
        }
        try decoder.finish()
        return frames
    }

    private let sampleFrames: [Frame] = [
        .callHeader(
            CallHeader(method: "Echo.say", timeout: .milliseconds(1500), metadata: ["trace-id": "abc", "ünïcode": "✓"])),
        .callHeader(CallHeader(method: "Inference.generate", timeout: nil, metadata: Metadata())),
        .message([]),
        .message(Array(repeating: 0x5A, count: 70_000)),
        .trailer(Trailer(status: .ok, metadata: Metadata())),
        .trailer(
            Trailer(
                status: RPCStatus(code: .resourceExhausted, message: "too big", details: [1, 2, 3]),
                metadata: ["retry-after": "5"])),
        .trailer(Trailer(status: .ok, metadata: Self.binaryMetadata)),
    ]

    /// Text and binary values side by side; the binary one is not UTF-8.
    private static let binaryMetadata: Metadata = {
        var metadata: Metadata = ["server": "w1"]
        metadata.add("Digest-Bin", binary: [0x00, 0xFF, 0xC3, 0x28])
        return metadata
    }()

    @Test("QUIC varints round-trip at every length boundary")
    func varints() {
        for value: UInt64 in [0, 63, 64, 16_383, 16_384, 1_073_741_823, 1_073_741_824, VarInt.max] {
            var bytes: [UInt8] = []
            VarInt.append(value, to: &bytes)
            #expect(bytes.count == VarInt.encodedLength(value))
            let decoded = bytes.withUnsafeBytes { VarInt.decode($0) }
            #expect(decoded?.value == value)
            #expect(decoded?.length == bytes.count)
            #expect(bytes.dropLast().withUnsafeBytes { VarInt.decode($0) } == nil)
        }
        // RFC 9000 §A.1 examples.
        let examples: [([UInt8], UInt64)] = [
            ([0xC2, 0x19, 0x7C, 0x5E, 0xFF, 0x14, 0xE8, 0x8C], 151_288_809_941_952_652),
            ([0x9D, 0x7F, 0x3E, 0x7D], 494_878_333),
            ([0x7B, 0xBD], 15_293),
            ([0x25], 37),
        ]
        for (bytes, value) in examples {
            #expect(bytes.withUnsafeBytes { VarInt.decode($0)?.value } == value)
        }
    }

    @Test("every frame type round-trips, whole or one byte at a time")
    func roundTrip() throws {
        let bytes = sampleFrames.flatMap(\.encoded)
        #expect(try decode(bytes) == sampleFrames)
        #expect(try decode(bytes, chunk: 1) == sampleFrames)
        #expect(try decode(bytes, chunk: 7) == sampleFrames)
    }

    @Test("the documented unary example encodes to the documented bytes")
    func documentedExample() {
        let header = Frame.callHeader(CallHeader(method: "Echo.say", timeout: .milliseconds(250), metadata: Metadata()))
        #expect(header.encoded == [0x01, 0x0E, 0x08] + Array("Echo.say".utf8) + [0x80, 0x03, 0xD0, 0x90, 0x00])
        #expect(Frame.message(Array("hi".utf8)).encoded == [0x02, 0x02, 0x68, 0x69])
        #expect(
            Frame.trailer(Trailer(status: .ok, metadata: Metadata())).encoded == [0x03, 0x04, 0x00, 0x00, 0x00, 0x00])
    }

    @Test("an oversized frame is refused from its length prefix alone, before buffering it")
    func oversizeRefusedEarly() {
        var decoder = FrameDecoder(limits: WireLimits())
        var bytes: [UInt8] = [FrameType.message.rawValue]
        VarInt.append(4 << 30, to: &bytes)  // announces 4 GiB
        decoder.append(bytes)
        #expect(throws: WireError.frameTooLarge(type: 0x02, length: 4 << 30, limit: 4 << 20)) { _ = try decoder.next() }
        #expect(WireError.frameTooLarge(type: 0x02, length: 4 << 30, limit: 4 << 20).status.code == .resourceExhausted)
    }

    @Test("malformed frames fail with a typed error naming the problem")
    func malformed() throws {
        #expect(throws: WireError.unknownFrameType(0x7F)) { _ = try decode([0x7F, 0x00]) }
        #expect(throws: WireError.truncated(bufferedBytes: 3)) { _ = try decode([0x02, 0x05, 0x01]) }
        #expect(throws: WireError.malformed(type: 0x01, reason: "empty method name")) {
            _ = try decode(Frame.callHeader(CallHeader(method: "", timeout: nil, metadata: Metadata())).encoded)
        }
        // Method name that is not UTF-8.
        #expect(throws: WireError.malformed(type: 0x01, reason: "method is not UTF-8")) {
            _ = try decode([0x01, 0x05, 0x02, 0xFF, 0xFE, 0x00, 0x00])
        }
        // Trailing bytes after a trailer's fields.
        #expect(throws: WireError.malformed(type: 0x03, reason: "1 trailing bytes")) {
            _ = try decode([0x03, 0x05, 0x00, 0x00, 0x00, 0x00, 0x09])
        }
        // A string announcing more bytes than the frame holds.
        #expect(throws: WireError.malformed(type: 0x01, reason: "method runs past the frame")) {
            _ = try decode([0x01, 0x03, 0x20, 0x41, 0x42])
        }
        // Too many metadata entries.
        var limits = WireLimits()
        limits.maxMetadataEntries = 2
        var metadata = Metadata()
        for index in 0..<3 { metadata.add("k\(index)", "v") }
        #expect(throws: WireError.malformed(type: 0x01, reason: "3 metadata entries exceed 2")) {
            _ = try decode(
                Frame.callHeader(CallHeader(method: "A.b", timeout: nil, metadata: metadata)).encoded, limits: limits)
        }
        #expect(WireError.unknownFrameType(0x7F).status.code == .internal)
        // Bytes that are not UTF-8 are a binary value under a `-bin` key, an error under any other.
        let trailer = Frame.trailer(Trailer(status: .ok, metadata: Self.binaryMetadata)).encoded
        #expect(try decode(trailer) == [.trailer(Trailer(status: .ok, metadata: Self.binaryMetadata))])
        var renamed = trailer
        let key = try #require(renamed.firstRange(of: Array("Digest-Bin".utf8)))
        renamed.replaceSubrange(key, with: Array("Digest-Txt".utf8))
        #expect(throws: WireError.malformed(type: 0x03, reason: "metadata value is not UTF-8")) {
            _ = try decode(renamed)
        }
    }

    @Test("metadata: case-insensitive keys, text and binary values, -bin keys decide which")
    func metadataValues() {
        var metadata: Metadata = ["Request-ID": "42", "token-bin": "raw"]
        metadata.add("token-bin", binary: [1, 2])
        #expect(metadata["request-id"] == "42")
        #expect(metadata.binaryValue(forKey: "TOKEN-BIN") == Array("raw".utf8))
        #expect(metadata.values(forKey: "token-bin") == [.binary(Array("raw".utf8)), .binary([1, 2])])
        #expect(Metadata.isBinaryKey("x-BIN") && !Metadata.isBinaryKey("bin") && !Metadata.isBinaryKey("x-binary"))
        metadata.replace("request-id", with: "43")
        #expect(metadata["Request-Id"] == "43" && metadata.count == 3)
        #expect(Metadata.Value.binary([0x0A, 0xFF]).description == "0aff")
    }

    @Test("random and mutated byte strings never crash the decoder and always end in frames or a WireError")
    func fuzz() {
        var generator = SeededGenerator(seed: 2024)
        let valid = sampleFrames.filter { $0 != .message(Array(repeating: 0x5A, count: 70_000)) }.flatMap(\.encoded)
        var outcomes = (frames: 0, errors: 0)
        for round in 0..<3_000 {
            var bytes: [UInt8]
            if round % 2 == 0 {
                bytes = (0..<Int(generator.next() % 64)).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
            } else {
                bytes = Array(valid.prefix(Int(generator.next() % UInt64(valid.count))))
                for _ in 0..<(1 + Int(generator.next() % 4)) where !bytes.isEmpty {
                    bytes[Int(generator.next() % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: generator.next())
                }
            }
            var decoder = FrameDecoder(limits: WireLimits())
            let chunk = 1 + Int(generator.next() % 16)
            do {
                for start in stride(from: 0, to: bytes.count, by: chunk) {
                    decoder.append(Array(bytes[start..<min(start + chunk, bytes.count)]))
                    while try decoder.next() != nil { outcomes.frames += 1 }
                }
                try decoder.finish()
            } catch {
                outcomes.errors += 1
            }
        }
        #expect(outcomes.errors > 1_000)
        #expect(outcomes.frames > 0)
    }
}
