import CRpcNet

/// A QUIC connection ID (at most 20 bytes) stored inline, used as a routing key.
struct ConnectionID: Hashable, Sendable, CustomStringConvertible {
    private var high: (UInt64, UInt64) = (0, 0)
    private var low: UInt32 = 0
    let count: UInt8

    /// Length of the connection IDs this implementation issues (RFC 9000 §5.1 allows up to 20).
    static let issuedLength = 16

    init(_ bytes: UnsafeRawBufferPointer) {
        precondition(bytes.count <= 20, "connection IDs are at most 20 bytes")
        count = UInt8(bytes.count)
        withUnsafeMutableBytes(of: &high) { raw in
            raw.copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes.prefix(16)))
        }
        if bytes.count > 16 {
            withUnsafeMutableBytes(of: &low) { raw in
                raw.copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[16...]))
            }
        }
    }

    init(_ cid: ngtcp2_cid) {
        var cid = cid
        self = withUnsafeBytes(of: &cid.data) { ConnectionID(UnsafeRawBufferPointer(rebasing: $0.prefix(cid.datalen))) }
    }

    static func == (lhs: ConnectionID, rhs: ConnectionID) -> Bool {
        lhs.count == rhs.count && lhs.high == rhs.high && lhs.low == rhs.low
    }

    func hash(into hasher: inout Hasher) {
        hasher.combine(high.0)
        hasher.combine(high.1)
        hasher.combine(low)
        hasher.combine(count)
    }

    /// A fresh random ID of ``issuedLength`` bytes as an `ngtcp2_cid`.
    static func random() -> ngtcp2_cid {
        var cid = ngtcp2_cid()
        cid.datalen = issuedLength
        withUnsafeMutableBytes(of: &cid.data) { _ = gnutls_rnd(GNUTLS_RND_NONCE, $0.baseAddress, issuedLength) }
        return cid
    }

    var description: String {
        var copy = high
        let bytes = withUnsafeBytes(of: &copy) { Array($0.prefix(Int(min(count, 16)))) }
        return bytes.map { String($0, radix: 16).leftPadded(to: 2) }.joined()
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
