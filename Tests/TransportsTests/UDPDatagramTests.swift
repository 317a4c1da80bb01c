import TestSupport
import Testing

@testable import Transports

@Suite("UDP datagram endpoint")
struct UDPDatagramTests {
    @Test("datagrams travel between two endpoints with their source address")
    func sendAndReceive() async throws {
        try await withReactor { reactor in
            let a = try await UDPDatagramEndpoint.bind(reactor: reactor, address: .loopback())
            let b = try await UDPDatagramEndpoint.bind(reactor: reactor, address: .loopback())
            try await withTimeout {
                for index in 0..<100 {
                    try a.send([UInt8(index), 1, 2], to: b.localAddress)
                }
                var seen: [UInt8] = []
                for _ in 0..<100 {
                    let datagram = try #require(try await b.receive())
                    #expect(datagram.source == a.localAddress)
                    seen.append(datagram.payload[0])
                }
                #expect(Set(seen).count == 100)
                try b.send([], to: a.localAddress)
                #expect(try await a.receive() == Datagram(payload: [], source: b.localAddress))
            }
            #expect(a.statistics.sent == 100)
            #expect(b.statistics.received == 100)
            a.close()
            b.close()
            #expect(try await a.receive() == nil)
        }
    }

    @Test("oversized datagrams are refused with a typed error")
    func oversized() async throws {
        try await withReactor { reactor in
            let a = try await UDPDatagramEndpoint.bind(reactor: reactor, address: .loopback(), maxDatagramSize: 1400)
            #expect(throws: TransportError.messageTooLarge(size: 1401, limit: 1400)) {
                try a.send([UInt8](repeating: 0, count: 1401), to: a.localAddress)
            }
            a.close()
            #expect(throws: TransportError.endpointClosed) { try a.send([1], to: a.localAddress) }
        }
    }

    @Test("a full receive queue drops and counts instead of growing")
    func boundedQueue() async throws {
        try await withReactor { reactor in
            let a = try await UDPDatagramEndpoint.bind(reactor: reactor, address: .loopback())
            let b = try await UDPDatagramEndpoint.bind(reactor: reactor, address: .loopback(), receiveQueueCapacity: 10)
            for _ in 0..<200 { try a.send([1], to: b.localAddress) }
            for _ in 0..<200 where b.statistics.received + b.statistics.droppedQueueFull < 200 {
                try await Task.sleep(for: .milliseconds(5))
            }
            #expect(b.statistics.received == 10)
            #expect(b.statistics.droppedQueueFull == 190)
            a.close()
            b.close()
        }
    }
}
