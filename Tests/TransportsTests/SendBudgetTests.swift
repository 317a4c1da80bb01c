import Synchronization
import Testing

@testable import Transports

/// A transport that never sends: every byte written stays unsent, as with a peer whose
/// flow-control window is closed. Records resets.
private final class StalledDriver: StreamDriver {
    let resets = Mutex<[Int64: UInt64]>([:])

    func streamHasDataToSend(_ stream: TransportStream) {}
    func stream(_ stream: TransportStream, consumed bytes: Int) {}
    func stream(_ stream: TransportStream, reset code: UInt64) { resets.withLock { $0[stream.id] = code } }
    func stream(_ stream: TransportStream, stopSending code: UInt64) {}
}

@Suite("Send budgets")
struct SendBudgetTests {
    @Test("a write is queued whole or not at all: cancelled while waiting for room, it leaves nothing")
    func writesAreAtomic() async throws {
        let stream = TransportStream(id: 0, sendBufferLimit: 100, driver: StalledDriver())
        try await stream.write([UInt8](repeating: 1, count: 80))
        let blocked = Task { try await stream.write([UInt8](repeating: 2, count: 50)) }
        try await Task.sleep(for: .milliseconds(20))
        #expect(stream.bufferedSendBytes == 80)  // 80 + 50 does not fit: nothing of it was queued
        blocked.cancel()
        await #expect(throws: CancellationError.self) { try await blocked.value }
        #expect(stream.bufferedSendBytes == 80)
        // A final frame does not wait for room, and nothing may follow it.
        try stream.writeFinal([3, 3, 3])
        #expect(stream.bufferedSendBytes == 83)
        await #expect(throws: TransportError.streamClosedLocally) { try await stream.write([4]) }
    }

    @Test("a connection's streams share its budget: writers wait once it is spent, and resume as bytes come back")
    func connectionBudgetIsShared() async throws {
        let budget = SendBudget(limit: 1000)
        let driver = StalledDriver()
        let first = TransportStream(id: 0, sendBufferLimit: 800, budget: budget, driver: driver)
        let second = TransportStream(id: 4, sendBufferLimit: 800, budget: budget, driver: driver)
        try await first.write([UInt8](repeating: 1, count: 700))
        let waiting = Task { try await second.write([UInt8](repeating: 2, count: 400)) }
        try await Task.sleep(for: .milliseconds(20))
        #expect(budget.used == 700)
        #expect(second.bufferedSendBytes == 0)
        first.reset(code: 1)  // its unsent bytes go back to the budget
        try await waiting.value
        #expect(budget.used == 400)
        #expect(second.bufferedSendBytes == 400)
    }

    @Test("an overdrawn endpoint budget resets the streams of the connection holding the most, not the writer")
    func endpointBudgetShedsTheLargestHolder() async throws {
        let endpoint = SendBudget(limit: 1000)
        let hog = SendBudget(limit: 800, parent: endpoint)
        let polite = SendBudget(limit: 800, parent: endpoint)
        let driver = StalledDriver()
        let hogStreams = (0..<4).map {
            TransportStream(id: Int64($0 * 4), sendBufferLimit: 200, budget: hog, driver: driver)
        }
        for stream in hogStreams { try await stream.write([UInt8](repeating: 1, count: 200)) }
        let other = TransportStream(id: 1, sendBufferLimit: 800, budget: polite, driver: driver)
        try await other.write([UInt8](repeating: 2, count: 100))
        #expect(endpoint.used == 900)
        // 900 + 300 overdraws the endpoint: the hog's streams are reset until it holds at most
        // half its budget, and the write goes through without waiting for the hog to read.
        try await other.write([UInt8](repeating: 3, count: 300))
        #expect(other.bufferedSendBytes == 400)
        #expect(hog.used <= 400)
        #expect(endpoint.used == hog.used + 400)
        let resets = driver.resets.withLock { $0 }
        #expect(resets.count == 2)
        #expect(resets.values.allSatisfy { $0 == SendBudget.resetCode })
        #expect(resets[1] == nil)
        withExtendedLifetime(hogStreams) {}
    }
}
