/// Bounds on everything a peer can make us allocate while decoding a call. Each is checked
/// against the length a frame announces, before any buffer for it is allocated.
public struct WireLimits: Sendable, Equatable {
    /// Largest request or response message (default 4 MiB); larger ones fail the call with
    /// ``RPCStatus/Code-swift.struct/resourceExhausted``.
    public var maxMessageSize = 4 * 1024 * 1024
    /// Longest method name, in UTF-8 bytes.
    public var maxMethodNameLength = 256
    /// Largest call header or trailer metadata, all keys and values together.
    public var maxMetadataSize = 8 * 1024
    /// Most metadata entries in one header.
    public var maxMetadataEntries = 64
    /// Longest status message in a trailer.
    public var maxStatusMessageLength = 4 * 1024
    /// Largest typed error payload in a trailer.
    public var maxErrorDetailsSize = 64 * 1024

    /// Creates the default limits.
    public init() {}

    /// Largest payload a frame of `type` may announce.
    func maxPayload(of type: FrameType) -> Int {
        switch type {
        case .message: maxMessageSize
        case .callHeader: maxMethodNameLength + maxMetadataSize + 16 + 8 * maxMetadataEntries
        case .trailer: maxStatusMessageLength + maxErrorDetailsSize + maxMetadataSize + 32 + 8 * maxMetadataEntries
        }
    }
}
