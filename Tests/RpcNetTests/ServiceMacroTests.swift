import AsyncAlgorithms
import Testing

@testable import RpcNet

/// A calculator defined with `@RPCService`: every call kind, a typed error, a renamed method,
/// an idempotent one and one that reads its context.
@RPCService(errors: CalculatorError.self)
protocol Calculator: Sendable {
    @Idempotent
    func add(_ pair: Pair) async throws -> Int
    func countdown(from start: Int, responses: TypedMessageWriter<Int>) async throws
    func sum(_ numbers: TypedMessageStream<Int>) async throws -> Int
    func shout(_ words: TypedMessageStream<String>, responses: TypedMessageWriter<String>, context: ServerContext)
        async throws
    @RPCName("slow_wait")
    func wait(milliseconds: Int, context: ServerContext) async throws(WaitError) -> Int
}

struct Pair: Codable, Sendable {
    var left: Int
    var right: Int
}

enum CalculatorError: ServiceError, Equatable {
    case overflow
    case negative(Int)
}

struct WaitError: ServiceError, Equatable {
    var reason: String
    var statusCode: RPCStatus.Code { .aborted }
}

/// The implementation the tests serve.
struct Abacus: Calculator {
    func add(_ pair: Pair) async throws -> Int {
        let (sum, overflow) = pair.left.addingReportingOverflow(pair.right)
        guard !overflow else { throw CalculatorError.overflow }
        return sum
    }

    func countdown(from start: Int, responses: TypedMessageWriter<Int>) async throws {
        guard start >= 0 else { throw CalculatorError.negative(start) }
        for value in stride(from: start, through: 0, by: -1) { try await responses.send(value) }
    }

    func sum(_ numbers: TypedMessageStream<Int>) async throws -> Int {
        try await numbers.reduce(0, +)
    }

    func shout(_ words: TypedMessageStream<String>, responses: TypedMessageWriter<String>, context: ServerContext)
        async throws
    {
        let suffix = context.metadata["suffix"] ?? "!"
        for try await word in words { try await responses.send(word.uppercased() + suffix) }
    }

    func wait(milliseconds: Int, context: ServerContext) async throws(WaitError) -> Int {
        guard milliseconds >= 0 else { throw WaitError(reason: "negative") }
        do {
            try await context.clock.sleep(for: .milliseconds(milliseconds))
        } catch {
            throw WaitError(reason: "cancelled")
        }
        return milliseconds
    }
}

@Suite("Services defined with @RPCService")
struct ServiceMacroTests {
    @Test("wire names, types and idempotency of the generated descriptors")
    func descriptors() {
        #expect(CalculatorClient.Methods.add.name == "Calculator.add")
        #expect(CalculatorClient.Methods.add.isIdempotent)
        #expect(!CalculatorClient.Methods.sum.isIdempotent)
        #expect(CalculatorClient.Methods.wait.name == "Calculator.slow_wait")
        #expect(type(of: CalculatorClient.Methods.wait) == RPCMethod<Int, Int, WaitError>.self)
        #expect(type(of: CalculatorClient.Methods.shout) == RPCMethod<String, String, CalculatorError>.self)
    }

    @Test(
        "the generated client calls the generated server: all four kinds, typed errors",
        arguments: TestTransport.allCases)
    func callKinds(transport: TestTransport) async throws {
        try await withRPC(transport, setup: { Abacus().register(on: $0) }) { client, _ in
            let calculator = CalculatorClient(client)
            #expect(try await calculator.add(Pair(left: 2, right: 3)) == 5)
            await #expect(throws: CalculatorError.overflow) {
                try await calculator.add(Pair(left: .max, right: 1))
            }

            let counted = try await calculator.countdown(from: 3) { values in
                try await values.reduce(into: []) { $0.append($1) }
            }
            #expect(counted == [3, 2, 1, 0])
            var fromSequence: [Int] = []
            for try await value in calculator.countdown(from: 2) { fromSequence.append(value) }
            #expect(fromSequence == [2, 1, 0])
            await #expect(throws: CalculatorError.negative(-1)) {
                for try await _ in calculator.countdown(from: -1) {}
            }

            #expect(try await calculator.sum { numbers in for value in 1...4 { try await numbers.send(value) } } == 10)
            #expect(try await calculator.sum([5, 6].async) == 11)

            var options = CallOptions()
            options.metadata.add("suffix", "?")
            let shouted = try await calculator.shout(options: options) { words, replies in
                try await words.send("hi")
                var iterator = replies.makeAsyncIterator()
                let first = try await iterator.next()
                try await words.send("yo")
                return [first, try await iterator.next()]
            }
            #expect(shouted == ["HI?", "YO?"])
            var replies: [String] = []
            for try await reply in calculator.shout(["a", "b"].async) { replies.append(reply) }
            #expect(replies == ["A!", "B!"])

            await #expect(throws: WaitError(reason: "negative")) {
                try await calculator.wait(milliseconds: -5)
            }
        }
    }

    @Test("a generated call's deadline ends it with deadlineExceeded", arguments: TestTransport.allCases)
    func deadlines(transport: TestTransport) async throws {
        try await withRPC(transport, setup: { Abacus().register(on: $0) }) { client, _ in
            let calculator = CalculatorClient(client)
            #expect(try await calculator.wait(milliseconds: 1, options: CallOptions(timeout: .seconds(5))) == 1)
            do {
                _ = try await calculator.wait(milliseconds: 60_000, options: CallOptions(timeout: .milliseconds(50)))
                Issue.record("the call outlived its deadline")
            } catch let status as RPCStatus {
                #expect(status.code == .deadlineExceeded)
            }
        }
    }

    @Test("cancelling the task of a generated call cancels the call", arguments: TestTransport.allCases)
    func cancellation(transport: TestTransport) async throws {
        try await withRPC(transport, setup: { Abacus().register(on: $0) }) { client, _ in
            let calculator = CalculatorClient(client)
            let call = Task { try await calculator.wait(milliseconds: 600_000) }
            // The call is in flight once the server has it; its handler sleeps for ten minutes.
            #expect(try await calculator.add(Pair(left: 1, right: 1)) == 2)
            call.cancel()
            do {
                _ = try await call.value
                Issue.record("the cancelled call returned")
            } catch let status as RPCStatus {
                #expect(status.code == .cancelled)
            }
        }
    }
}
