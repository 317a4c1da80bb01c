import CRpcNet
import Glibc

extension PeerIdentity {
    /// The identity of the first certificate the peer presented on `session` (its own; the rest
    /// of the chain are issuers), read once the handshake has verified it; `nil` without one.
    init?(session: gnutls_session_t) {
        var count: UInt32 = 0
        guard let chain = gnutls_certificate_get_peers(session, &count), count > 0 else { return nil }
        var certificate: gnutls_x509_crt_t?
        guard gnutls_x509_crt_init(&certificate) == GNUTLS_E_SUCCESS, let certificate else { return nil }
        defer { gnutls_x509_crt_deinit(certificate) }
        var der = chain.pointee
        guard gnutls_x509_crt_import(certificate, &der, GNUTLS_X509_FMT_DER) == GNUTLS_E_SUCCESS else { return nil }
        self.init(
            commonName: Self.commonName(of: certificate), dnsNames: Self.dnsNames(of: certificate),
            subject: Self.subject(of: certificate))
    }

    private static func subject(of certificate: gnutls_x509_crt_t) -> String {
        var buffer = [CChar](repeating: 0, count: 1024)
        var size = buffer.count
        guard gnutls_x509_crt_get_dn(certificate, &buffer, &size) == GNUTLS_E_SUCCESS else { return "" }
        return text(buffer, size)
    }

    private static func commonName(of certificate: gnutls_x509_crt_t) -> String? {
        var buffer = [CChar](repeating: 0, count: 256)
        var size = buffer.count
        let result = gnutls_x509_crt_get_dn_by_oid(
            certificate, GNUTLS_OID_X520_COMMON_NAME, 0, 0, &buffer, &size)
        guard result == GNUTLS_E_SUCCESS else { return nil }
        return text(buffer, size)
    }

    private static func dnsNames(of certificate: gnutls_x509_crt_t) -> [String] {
        var names: [String] = []
        // Bounded: a certificate with more alternative names than this is not worth reading on.
        for index in 0..<64 {
            var buffer = [CChar](repeating: 0, count: 256)
            var size = buffer.count
            let kind = gnutls_x509_crt_get_subject_alt_name(certificate, UInt32(index), &buffer, &size, nil)
            guard kind >= 0 else { break }
            if kind == GNUTLS_SAN_DNSNAME.rawValue {
                names.append(text(buffer, size))
            }
        }
        return names
    }

    /// The first `size` bytes of a buffer GnuTLS filled, as text.
    private static func text(_ buffer: [CChar], _ size: Int) -> String {
        String(decoding: buffer.prefix(min(size, buffer.count)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
