/// One "host" of a ``NetworkLab``: a network namespace with loopback and one interface, `eth0`,
/// on the lab's switch, holding a private address of the lab's subnet.
struct LabHost: Sendable, Hashable {
    /// The lab's subnet: every lab uses the same one, which is safe because each lab's hosts live
    /// in their own namespaces and reach nothing else.
    static let subnet = "10.77.0"
    /// The prefix length of the hosts' addresses.
    static let prefixLength = 24
    /// The interface that connects a host to the switch.
    static let interface = "eth0"

    /// The name the other hosts resolve it by (`director`, `worker-a`…).
    let name: String
    /// Its network namespace.
    let namespace: String
    /// Its IPv4 address.
    let address: String

    /// The `index`th host (from 0) of the lab whose namespaces start with `prefix`: address
    /// `10.77.0.<index + 1>`.
    init(name: String, index: Int, prefix: String) {
        self.name = name
        namespace = "\(prefix)-\(name)"
        address = "\(Self.subnet).\(index + 1)"
    }

    /// `address:port`, as the example's `*_ADDR` settings take it.
    func endpoint(port: Int) -> String { "\(address):\(port)" }
}
