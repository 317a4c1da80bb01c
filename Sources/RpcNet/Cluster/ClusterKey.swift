import CRpcNet
import Foundation

/// A shared secret that authenticates and encrypts gossip (AES-256-GCM): members without it
/// can neither join nor change anyone's view of the cluster.
public struct ClusterKey: Sendable, Hashable {
    /// The key's 32 bytes.
    public let bytes: [UInt8]

    /// A key from its 32 bytes.
    public init(bytes: [UInt8]) throws(ClusterKeyError) {
        guard bytes.count == 32 else { throw .wrongLength(bytes.count) }
        self.bytes = bytes
    }

    /// A key from its Base64 form (as `openssl rand -base64 32` prints one).
    public init(base64: String) throws(ClusterKeyError) {
        guard let data = Data(base64Encoded: base64.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw .notBase64
        }
        try self.init(bytes: Array(data))
    }

    /// A new random key from GnuTLS's key-grade generator.
    public static func random() -> ClusterKey {
        var bytes = [UInt8](repeating: 0, count: 32)
        let result = bytes.withUnsafeMutableBytes { gnutls_rnd(GNUTLS_RND_KEY, $0.baseAddress, 32) }
        precondition(result == 0, "GnuTLS could not generate a key")
        return try! ClusterKey(bytes: bytes)
    }

    /// The key in Base64, to put in configuration.
    public var base64: String { Data(bytes).base64EncodedString() }
}

/// Why bytes are not a cluster key.
public enum ClusterKeyError: Error, Equatable, Sendable {
    /// A key is 32 bytes (AES-256); this many were given.
    case wrongLength(Int)
    /// The text is not Base64.
    case notBase64
}
