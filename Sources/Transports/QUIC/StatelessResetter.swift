import CRpcNet
import Glibc

/// Stateless resets (RFC 9000 §10.3): the tokens an endpoint hands out with each connection ID,
/// and the reset packets it sends when a packet arrives for a connection it does not have.
///
/// A server that restarts with the same secret recognises its previous life's connection IDs
/// only by the token it can recompute for them: a client still sending on such a connection
/// gets a reset and re-dials at once, instead of retransmitting into silence until its idle
/// timeout. Owned by the endpoint; loop thread only.
final class StatelessResetter {
    /// The shortest packet that may trigger a reset: a reset must be shorter than what
    /// triggered it (so two endpoints cannot answer each other for ever) and at least 21 bytes
    /// long with 5 unpredictable bytes (RFC 9000 §10.3).
    static let minimumTrigger = 1 + 5 + 16 + 1

    private let secret: [UInt8]
    private let limitPerSecond: Int
    private var windowStart: UInt64 = 0
    private var sentInWindow = 0

    /// A resetter with `configuration`'s secret, or one derived from the server's private key
    /// and `port`, or (a client) a random one.
    init(configuration: QUICConfiguration, port: UInt16, isServer: Bool) throws(TransportError) {
        limitPerSecond = configuration.maxStatelessResetsPerSecond
        if let secret = configuration.statelessResetSecret {
            self.secret = secret
        } else if isServer, let keyFile = configuration.privateKeyFile {
            secret = try Self.derivedSecret(keyFile: keyFile, port: port)
        } else {
            var random = [UInt8](repeating: 0, count: 32)
            _ = gnutls_rnd(GNUTLS_RND_RANDOM, &random, random.count)
            secret = random
        }
    }

    /// HMAC-SHA256 keyed with the private key file's bytes over a label and the port: the same
    /// key and port give the same secret in every run, and the secret reveals nothing of the key.
    private static func derivedSecret(keyFile: String, port: UInt16) throws(TransportError) -> [UInt8] {
        let descriptor = open(keyFile, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw .system(operation: "open \(keyFile)", errno: errno) }
        defer { close(descriptor) }
        var key = [UInt8](repeating: 0, count: 64 * 1024)
        let count = key.withUnsafeMutableBytes { read(descriptor, $0.baseAddress!, $0.count) }
        guard count > 0 else { throw .system(operation: "read \(keyFile)", errno: errno) }
        defer { key.withUnsafeMutableBytes { _ = memset($0.baseAddress!, 0, $0.count) } }
        let label = Array("rpcnet stateless reset v1 port \(port)".utf8)
        var secret = [UInt8](repeating: 0, count: 32)
        _ = gnutls_hmac_fast(GNUTLS_MAC_SHA256, key, count, label, label.count, &secret)
        return secret
    }

    /// Writes the reset token of `cid` into `token` (16 bytes).
    func token(for cid: ngtcp2_cid, into token: UnsafeMutablePointer<UInt8>) {
        var cid = cid
        _ = secret.withUnsafeBufferPointer { secret in
            ngtcp2_crypto_generate_stateless_reset_token(token, secret.baseAddress, secret.count, &cid)
        }
    }

    /// A reset answering a `triggerLength`-byte packet for the unknown connection ID `dcid`,
    /// or nil when the packet is too short or the rate limit is reached.
    func reset(for dcid: UnsafeRawBufferPointer, triggerLength: Int, now: UInt64) -> [UInt8]? {
        guard dcid.count <= Int(NGTCP2_MAX_CIDLEN), triggerLength >= Self.minimumTrigger, admit(now: now) else {
            return nil
        }
        var cid = ngtcp2_cid()
        cid.datalen = dcid.count
        withUnsafeMutableBytes(of: &cid.data) { $0.copyMemory(from: dcid) }
        var resetToken = [UInt8](repeating: 0, count: Int(NGTCP2_STATELESS_RESET_TOKENLEN))
        token(for: cid, into: &resetToken)
        // As long as the trigger allows, up to a typical short packet, so resets do not stand out.
        let randomLength = min(triggerLength - 1, 43) - resetToken.count - 1
        var unpredictable = [UInt8](repeating: 0, count: randomLength)
        _ = gnutls_rnd(GNUTLS_RND_NONCE, &unpredictable, unpredictable.count)
        var packet = [UInt8](repeating: 0, count: 1 + randomLength + resetToken.count)
        let written = ngtcp2_pkt_write_stateless_reset(
            &packet, packet.count, resetToken, unpredictable, unpredictable.count)
        guard written > 0 else { return nil }
        return Array(packet.prefix(Int(written)))
    }

    /// Counts one reset against the per-second budget.
    private func admit(now: UInt64) -> Bool {
        if now &- windowStart >= 1_000_000_000 {
            windowStart = now
            sentInWindow = 0
        }
        guard sentInWindow < limitPerSecond else { return false }
        sentInWindow += 1
        return true
    }
}
