import Foundation
import Testing
import Transports

@testable import RpcNet

/// docs/PROTOCOL.md §7.7 shows two gossip datagrams byte by byte; these tests read the hex from
/// the document itself, so the example cannot drift from the codec.
@Suite("Gossip wire examples in PROTOCOL.md")
struct GossipWireExampleTests {
    /// The hex of each code block in §7.7, in order: on every line, the leading two-digit
    /// uppercase hex words, up to the first word of the comment.
    private static func documentedDatagrams() throws -> [[UInt8]] {
        let protocolFile = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("docs/PROTOCOL.md")
        let text = try String(contentsOf: protocolFile, encoding: .utf8)
        let section = try #require(text.components(separatedBy: "### 7.7 Example").dropFirst().first)
        var datagrams: [[UInt8]] = []
        var current: [UInt8]?
        for line in section.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("```") {
                if let finished = current { datagrams.append(finished) }
                current = current == nil ? [] : nil
                continue
            }
            guard current != nil else { continue }
            for word in line.split(separator: " ") {
                guard word.count == 2, let byte = UInt8(word, radix: 16), word.uppercased() == word else { break }
                current!.append(byte)
            }
        }
        return datagrams
    }

    @Test("the ping and the ack of §7.7 are what GossipCodec writes and reads")
    func examplesMatchTheCodec() throws {
        let documented = try Self.documentedDatagrams()
        try #require(documented.count >= 2)
        let ping = GossipPacket(
            sender: "node-1", boot: 0x0123_4567_89AB_CDEF, sentAt: 1_000_000_000,
            message: .ping(sequence: 7, target: "node-2"), updates: [])
        let ack = GossipPacket(
            sender: "node-2", boot: 0x0FED_CBA9_8765_4321, sentAt: 1_000_250_000, message: .ack(sequence: 7),
            updates: [
                .alive(name: "node-2", address: .loopback(port: 7946), incarnation: 1, tags: ["role": "worker"])
            ])
        let plain = GossipSealer(keys: [])
        #expect(plain.seal(GossipCodec.encode(ping)) == documented[0])
        #expect(plain.seal(GossipCodec.encode(ack)) == documented[1])
        #expect(documented[0].count == 31)
        #expect(documented[1].count == 53)
        #expect(try GossipCodec.decode(plain.open(documented[1])) == ack)
    }
}
