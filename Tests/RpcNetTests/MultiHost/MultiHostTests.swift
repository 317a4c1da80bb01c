import Testing

/// Tests across "hosts" made of network namespaces (``NetworkLab``): one lab at a time, and only
/// where labs can be made (root, `ip`, `iptables`, `certtool`); elsewhere they are skipped with
/// the reason.
@Suite("MultiHost", .serialized, NetworkLab.available)
enum MultiHostTests {}
