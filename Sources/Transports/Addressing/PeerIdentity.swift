/// Who the peer of a connection proved to be: the subject of the certificate it presented and
/// TLS verified against the trusted CAs. Servers see it for clients under mutual TLS
/// (`requireClientCertificate`); clients see their server's.
///
/// Authorise on ``commonName`` or ``dnsNames`` (RFC 5280 §4.1.2.6 and §4.2.1.6), never on
/// ``subject`` as a whole: the distinguished name's formatting is the TLS library's.
public struct PeerIdentity: Sendable, Hashable, CustomStringConvertible {
    /// The certificate subject's common name (CN), if it has one.
    public var commonName: String?
    /// The certificate's subject-alternative-name DNS entries.
    public var dnsNames: [String]
    /// The certificate subject's distinguished name, as RFC 4514 text, for logs.
    public var subject: String

    /// Creates an identity; tests and the simulated network hand these out directly.
    public init(commonName: String?, dnsNames: [String] = [], subject: String? = nil) {
        self.commonName = commonName
        self.dnsNames = dnsNames
        self.subject = subject ?? commonName.map { "CN=\($0)" } ?? ""
    }

    /// Whether the identity carries `name` as its common name or one of its DNS names.
    public func matches(name: String) -> Bool {
        commonName == name || dnsNames.contains(name)
    }

    /// The subject, or the common name when the subject is empty.
    public var description: String {
        subject.isEmpty ? (commonName ?? "(no subject)") : subject
    }
}
