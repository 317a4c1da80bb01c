/// Turns the bytes of one call's stream into frames, incrementally and within ``WireLimits``.
///
/// Feed it what the stream delivers with ``append(_:)`` and take frames with ``next()``. A frame's
/// announced length is checked against its limit as soon as its 1–9 byte prefix has arrived, so
/// a peer cannot make the decoder buffer more than one frame's worth beyond the last chunk. Every
/// failure is a ``WireError``; the decoder never traps on input.
struct FrameDecoder: Sendable {
    let limits: WireLimits
    private var buffer: [UInt8] = []
    private var readIndex = 0

    init(limits: WireLimits) {
        self.limits = limits
    }

    /// Bytes received and not yet consumed as frames.
    var bufferedBytes: Int { buffer.count - readIndex }

    /// Adds bytes received from the stream.
    mutating func append(_ bytes: [UInt8]) {
        if readIndex > 0, readIndex >= buffer.count / 2 {
            buffer.removeFirst(readIndex)
            readIndex = 0
        }
        if buffer.isEmpty { buffer = bytes } else { buffer.append(contentsOf: bytes) }
    }

    /// The next complete frame, or nil when more bytes are needed.
    mutating func next() throws(WireError) -> Frame? {
        let available = buffer.count - readIndex
        guard available > 0 else { return nil }
        let typeByte = buffer[readIndex]
        guard let type = FrameType(rawValue: typeByte) else { throw .unknownFrameType(typeByte) }
        let prefix: (value: UInt64, length: Int)? = buffer.withUnsafeBytes { raw in
            VarInt.decode(UnsafeRawBufferPointer(rebasing: raw[(readIndex + 1)...]))
        }
        guard let (length, lengthSize) = prefix else { return nil }
        let limit = limits.maxPayload(of: type)
        guard length <= UInt64(limit) else { throw .frameTooLarge(type: typeByte, length: length, limit: limit) }
        let start = readIndex + 1 + lengthSize
        let end = start + Int(length)
        guard end <= buffer.count else { return nil }
        let frame = try Self.parse(type, buffer[start..<end], limits: limits)
        readIndex = end
        if readIndex == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            readIndex = 0
        }
        return frame
    }

    /// Checks that the stream ended on a frame boundary.
    func finish() throws(WireError) {
        if bufferedBytes > 0 { throw .truncated(bufferedBytes: bufferedBytes) }
    }

    // MARK: Payloads

    private static func parse(_ type: FrameType, _ payload: ArraySlice<UInt8>, limits: WireLimits) throws(WireError)
        -> Frame
    {
        var reader = PayloadReader(bytes: payload, type: type)
        let frame: Frame
        switch type {
        case .message:
            return .message(Array(payload))
        case .callHeader:
            let method = try reader.string(limit: limits.maxMethodNameLength, field: "method")
            guard !method.isEmpty else { throw .malformed(type: type.rawValue, reason: "empty method name") }
            let timeout = CallTimeout.decode(try reader.varint(field: "timeout"))
            let metadata = try reader.metadata(limits: limits)
            frame = .callHeader(CallHeader(method: method, timeout: timeout, metadata: metadata))
        case .trailer:
            let code = try reader.varint(field: "status code")
            let message = try reader.string(limit: limits.maxStatusMessageLength, field: "status message")
            let details = try reader.bytes(limit: limits.maxErrorDetailsSize, field: "error details")
            let metadata = try reader.metadata(limits: limits)
            frame = .trailer(
                Trailer(
                    status: RPCStatus(code: .init(rawValue: code), message: message, details: details),
                    metadata: metadata))
        }
        guard reader.isAtEnd else {
            throw .malformed(type: type.rawValue, reason: "\(reader.remaining) trailing bytes")
        }
        return frame
    }
}

/// Reads the fields of one frame payload, failing with a ``WireError`` naming the field.
private struct PayloadReader {
    let bytes: ArraySlice<UInt8>
    let type: FrameType
    private var index: Int

    init(bytes: ArraySlice<UInt8>, type: FrameType) {
        self.bytes = bytes
        self.type = type
        index = bytes.startIndex
    }

    var isAtEnd: Bool { index == bytes.endIndex }
    var remaining: Int { bytes.endIndex - index }

    mutating func varint(field: String) throws(WireError) -> UInt64 {
        let decoded: (value: UInt64, length: Int)? = bytes.withUnsafeBytes { raw in
            VarInt.decode(UnsafeRawBufferPointer(rebasing: raw[(index - bytes.startIndex)...]))
        }
        guard let decoded else { throw .malformed(type: type.rawValue, reason: "\(field) is cut short") }
        index += decoded.length
        return decoded.value
    }

    mutating func bytes(limit: Int, field: String) throws(WireError) -> [UInt8] {
        let length = try varint(field: "\(field) length")
        guard length <= UInt64(limit) else {
            throw .malformed(type: type.rawValue, reason: "\(field) of \(length) bytes exceeds \(limit)")
        }
        guard length <= UInt64(remaining) else {
            throw .malformed(type: type.rawValue, reason: "\(field) runs past the frame")
        }
        defer { index += Int(length) }
        return Array(bytes[index..<index + Int(length)])
    }

    mutating func string(limit: Int, field: String) throws(WireError) -> String {
        let raw = try bytes(limit: limit, field: field)
        guard let string = String(validating: raw, as: UTF8.self) else {
            throw .malformed(type: type.rawValue, reason: "\(field) is not UTF-8")
        }
        return string
    }

    mutating func metadata(limits: WireLimits) throws(WireError) -> Metadata {
        let count = try varint(field: "metadata count")
        guard count <= UInt64(limits.maxMetadataEntries) else {
            throw .malformed(
                type: type.rawValue, reason: "\(count) metadata entries exceed \(limits.maxMetadataEntries)")
        }
        var metadata = Metadata()
        var total = 0
        for _ in 0..<count {
            let key = try string(limit: limits.maxMetadataSize, field: "metadata key")
            guard !key.isEmpty else { throw .malformed(type: type.rawValue, reason: "empty metadata key") }
            // The key says how to read the value: bytes under a `-bin` key, UTF-8 text otherwise.
            if Metadata.isBinaryKey(key) {
                let value = try bytes(limit: limits.maxMetadataSize, field: "metadata value")
                total += key.utf8.count + value.count
                metadata.add(key, binary: value)
            } else {
                let value = try string(limit: limits.maxMetadataSize, field: "metadata value")
                total += key.utf8.count + value.utf8.count
                metadata.add(key, value)
            }
            guard total <= limits.maxMetadataSize else {
                throw .malformed(type: type.rawValue, reason: "metadata exceeds \(limits.maxMetadataSize) bytes")
            }
        }
        return metadata
    }
}
