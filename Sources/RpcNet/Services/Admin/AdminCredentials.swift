import CRpcNet

/// Who may call a node's ``AdminService``: callers whose client certificate (mutual TLS) names
/// one of ``identities``, and callers that prove they hold one of ``keys``, the cluster's gossip
/// keys, by sending ``token(for:)`` in their metadata. Empty on both counts, nobody may.
public struct AdminAuthorization: Sendable {
    /// Common names or DNS names of client certificates allowed in.
    public var identities: Set<String>
    /// Cluster keys whose token lets a caller in.
    public var keys: [ClusterKey]

    /// Lets in the certificate names in `identities` and the holders of `keys`.
    public init(identities: Set<String> = [], keys: [ClusterKey] = []) {
        self.identities = identities
        self.keys = keys
    }

    /// The metadata key the token travels under (a binary value).
    public static let tokenKey = "rpcnet-admin-token-bin"

    /// The proof that a caller holds `key`: HMAC-SHA256 (RFC 2104) of a fixed label under the key.
    /// It reveals nothing of the key; sent over TLS 1.3, which keeps it from eavesdroppers.
    public static func token(for key: ClusterKey) -> [UInt8] {
        let label = Array("rpcnet admin token v1".utf8)
        var digest = [UInt8](repeating: 0, count: 32)
        let result = key.bytes.withUnsafeBytes { secret in
            label.withUnsafeBytes { text in
                digest.withUnsafeMutableBytes { output in
                    gnutls_hmac_fast(
                        GNUTLS_MAC_SHA256, secret.baseAddress, secret.count, text.baseAddress, text.count,
                        output.baseAddress)
                }
            }
        }
        precondition(result == 0, "GnuTLS could not compute HMAC-SHA256")
        return digest
    }

    /// Decides a call: `unauthenticated` without credentials, `permissionDenied` with ones that
    /// are not allowed.
    func check(_ context: ServerContext) throws(RPCStatus) {
        if let identity = context.peerIdentity, identities.contains(where: identity.matches(name:)) { return }
        let presented = context.metadata.binaryValue(forKey: Self.tokenKey)
        if let presented, keys.contains(where: { Self.constantTimeEqual(Self.token(for: $0), presented) }) { return }
        guard presented != nil || context.peerIdentity != nil else {
            throw RPCStatus(
                code: .unauthenticated,
                message: "the admin service needs a client certificate it allows or a cluster key token")
        }
        throw RPCStatus(code: .permissionDenied, message: "these credentials may not use the admin service")
    }

    private static func constantTimeEqual(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
        guard lhs.count == rhs.count else { return false }
        return zip(lhs, rhs).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
    }
}
