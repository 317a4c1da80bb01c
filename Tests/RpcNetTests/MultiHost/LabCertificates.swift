import Foundation

/// A lab's test PKI, made with GnuTLS `certtool` like `certs/generate.sh` and under the same file
/// names (`ca.pem`, `server.pem`, `server-key.pem`, `client.pem`, `client-key.pem`), but with a
/// server certificate whose names are the lab's: every host's name and address (and localhost),
/// so a process on one host verifies another by the address it dialled.
enum LabCertificates {
    /// Writes the PKI into `directory` (which exists) for hosts called `names` at `addresses`.
    static func generate(in directory: URL, names: [String], addresses: [String], _ tools: LabTools) throws {
        let server =
            ["cn = \"rpcnet-lab\"", "dns_name = \"localhost\""] + names.map { "dns_name = \"\($0)\"" }
            + ["ip_address = \"127.0.0.1\""] + addresses.map { "ip_address = \"\($0)\"" }
            + ["tls_www_server", "signing_key", "encryption_key", "expiration_days = 2"]
        let templates: [String: [String]] = [
            "ca": ["cn = \"RpcNet Lab CA\"", "ca", "cert_signing_key", "crl_signing_key", "expiration_days = 2"],
            "server": server,
            "client": ["cn = \"rpcnet-lab-client\"", "tls_www_client", "signing_key", "expiration_days = 2"],
        ]
        for (name, lines) in templates {
            try Data((lines.joined(separator: "\n") + "\n").utf8).write(
                to: directory.appendingPathComponent("\(name).template"))
        }
        try generateKey(file(directory, "ca-key.pem"), tools)
        try HostCommand.run(
            tools.certtool,
            [
                "--generate-self-signed", "--load-privkey", file(directory, "ca-key.pem"),
                "--template", file(directory, "ca.template"), "--outfile", file(directory, "ca.pem"),
            ])
        for name in ["server", "client"] {
            try generateKey(file(directory, "\(name)-key.pem"), tools)
            try HostCommand.run(
                tools.certtool,
                [
                    "--generate-certificate", "--load-privkey", file(directory, "\(name)-key.pem"),
                    "--load-ca-certificate", file(directory, "ca.pem"), "--load-ca-privkey",
                    file(directory, "ca-key.pem"), "--template", file(directory, "\(name).template"),
                    "--outfile", file(directory, "\(name).pem"),
                ])
        }
    }

    /// An ECDSA P-256 private key, as `certs/generate.sh` makes them.
    private static func generateKey(_ path: String, _ tools: LabTools) throws {
        try HostCommand.run(
            tools.certtool, ["--generate-privkey", "--key-type=ecdsa", "--curve=secp256r1", "--outfile", path])
    }

    /// The path of `name` in `directory`.
    private static func file(_ directory: URL, _ name: String) -> String {
        directory.appendingPathComponent(name).path
    }
}
