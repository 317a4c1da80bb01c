import CRpcNet

/// Frames gossip datagrams and, with cluster keys, authenticates and encrypts them.
///
/// A datagram is a version byte (1), a flags byte (bit 0: encrypted) and the body; encrypted,
/// the body is a 12-byte random nonce and the AES-256-GCM ciphertext with its 16-byte tag, the
/// two header bytes authenticated as associated data. The first key seals; every key opens, so a
/// new key can be rolled out to all members first and made primary afterwards, without a
/// restart. Without keys, encrypted datagrams are refused, and with keys, plain ones: members
/// configured differently never accept each other's gossip.
///
/// Not thread-safe, and without a lock: GnuTLS's AEAD contexts serve one thread at a time. A
/// membership seals and opens on its owner only (``ClusterMembership``), so AES-GCM never runs
/// under a lock and never waits for one.
final class GossipSealer: @unchecked Sendable {
    static let version: UInt8 = 1
    private static let encryptedFlag: UInt8 = 1
    private static let nonceSize = 12
    private static let tagSize = 16

    /// Bytes sealing adds to a body.
    let overhead: Int
    private let ciphers: [AEADCipher]

    init(keys: [ClusterKey]) {
        ciphers = keys.map(AEADCipher.init)
        overhead = keys.isEmpty ? 2 : 2 + Self.nonceSize + Self.tagSize
    }

    var isEncrypting: Bool { overhead > 2 }

    /// The datagram carrying `body`.
    func seal(_ body: [UInt8]) -> [UInt8] {
        guard let primary = ciphers.first else { return [Self.version, 0] + body }
        var datagram: [UInt8] = [Self.version, Self.encryptedFlag]
        var nonce = [UInt8](repeating: 0, count: Self.nonceSize)
        let drawn = nonce.withUnsafeMutableBytes { gnutls_rnd(GNUTLS_RND_NONCE, $0.baseAddress, Self.nonceSize) }
        precondition(drawn == 0, "GnuTLS could not draw a nonce")
        datagram.append(contentsOf: nonce)
        datagram.append(contentsOf: primary.seal(body, nonce: nonce, header: [Self.version, Self.encryptedFlag]))
        return datagram
    }

    /// The body of `datagram`, or why it is refused.
    func open(_ datagram: [UInt8]) throws(GossipDropReason) -> [UInt8] {
        guard datagram.count >= 2, datagram[0] == Self.version else { throw .malformed }
        let flags = datagram[1]
        guard flags & ~Self.encryptedFlag == 0 else { throw .malformed }
        let encrypted = flags & Self.encryptedFlag != 0
        guard encrypted == isEncrypting else { throw .unauthenticated }
        guard encrypted else { return Array(datagram[2...]) }
        guard datagram.count >= 2 + Self.nonceSize + Self.tagSize else { throw .malformed }
        let nonce = Array(datagram[2..<(2 + Self.nonceSize)])
        let sealed = Array(datagram[(2 + Self.nonceSize)...])
        for cipher in ciphers {
            if let body = cipher.open(sealed, nonce: nonce, header: [datagram[0], datagram[1]]) { return body }
        }
        throw .unauthenticated
    }
}

/// One GnuTLS AES-256-GCM context, used by one thread at a time (its ``GossipSealer``'s).
private final class AEADCipher {
    private var handle: gnutls_aead_cipher_hd_t?
    private static let tagSize = 16

    init(key: ClusterKey) {
        var key = key.bytes
        let result = key.withUnsafeMutableBytes { raw in
            var datum = gnutls_datum_t(data: raw.baseAddress!.assumingMemoryBound(to: UInt8.self), size: 32)
            return gnutls_aead_cipher_init(&handle, GNUTLS_CIPHER_AES_256_GCM, &datum)
        }
        precondition(result == 0 && handle != nil, "GnuTLS could not set up AES-256-GCM")
    }

    deinit {
        gnutls_aead_cipher_deinit(handle)
    }

    func seal(_ body: [UInt8], nonce: [UInt8], header: [UInt8]) -> [UInt8] {
        var sealed = [UInt8](repeating: 0, count: body.count + Self.tagSize)
        var length = sealed.count
        let result = sealed.withUnsafeMutableBytes { out in
            gnutls_aead_cipher_encrypt(
                handle, nonce, nonce.count, header, header.count, Self.tagSize, body, body.count, out.baseAddress,
                &length)
        }
        precondition(result == 0 && length == sealed.count, "AES-256-GCM sealing failed")
        return sealed
    }

    func open(_ sealed: [UInt8], nonce: [UInt8], header: [UInt8]) -> [UInt8]? {
        var body = [UInt8](repeating: 0, count: sealed.count)
        var length = body.count
        let result = body.withUnsafeMutableBytes { out in
            gnutls_aead_cipher_decrypt(
                handle, nonce, nonce.count, header, header.count, Self.tagSize, sealed, sealed.count, out.baseAddress,
                &length)
        }
        guard result == 0 else { return nil }
        return Array(body.prefix(length))
    }
}
