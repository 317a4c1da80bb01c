import Testing

/// A declaration `@RPCService` refuses, and where it says so.
struct Refusal: Sendable, CustomTestStringConvertible {
    let testDescription: String
    let source: String
    let message: String
    let line: Int
    let column: Int
}

private let refusals = [
    Refusal(
        testDescription: "not a protocol", source: "@RPCService\nstruct Echo {\n}",
        message: "@RPCService applies to a protocol declaring the service's methods", line: 2, column: 8),
    Refusal(
        testDescription: "not Sendable", source: "@RPCService\nprotocol Echo {\n}",
        message: "an @RPCService protocol must refine Sendable: one implementation serves concurrent calls", line: 2,
        column: 10),
    Refusal(
        testDescription: "a property",
        source: "@RPCService\nprotocol Echo: Sendable {\n    var name: String { get }\n}",
        message: "an @RPCService protocol declares methods only (async functions)", line: 3, column: 5),
    Refusal(
        testDescription: "not async",
        source: "@RPCService\nprotocol Echo: Sendable {\n    func say(_ text: Text) throws -> Text\n}",
        message: "a service method must be async", line: 3, column: 10),
    Refusal(
        testDescription: "static",
        source: "@RPCService\nprotocol Echo: Sendable {\n    static func say(_ text: Text) async throws -> Text\n}",
        message: "a service method must be an instance method", line: 3, column: 5),
    Refusal(
        testDescription: "generic",
        source: "@RPCService\nprotocol Echo: Sendable {\n    func say<T>(_ text: T) async throws -> T\n}",
        message: "a service method cannot be generic: its request and response types travel on the wire", line: 3,
        column: 13),
    Refusal(
        testDescription: "no request",
        source: "@RPCService\nprotocol Echo: Sendable {\n    func ping() async throws -> Text\n}",
        message:
            "a service method takes its request first: a message, or TypedMessageStream<Request> for a stream of them",
        line: 3, column: 14),
    Refusal(
        testDescription: "three parameters",
        source:
            "@RPCService\nprotocol Echo: Sendable {\n    func say(_ a: Text, responses: TypedMessageWriter<Text>, c: Int) async throws\n}",
        message:
            "a service method takes a request, optionally TypedMessageWriter<Response> for streamed responses, and optionally a ServerContext last",
        line: 3, column: 62),
    Refusal(
        testDescription: "inout",
        source: "@RPCService\nprotocol Echo: Sendable {\n    func say(_ text: inout Text) async throws -> Text\n}",
        message: "inout, variadic and defaulted parameters cannot travel in a call", line: 3, column: 14),
    Refusal(
        testDescription: "a second parameter that is not a writer",
        source:
            "@RPCService\nprotocol Echo: Sendable {\n    func say(_ text: Text, loud: Bool) async throws -> Text\n}",
        message:
            "the second parameter of a service method must be TypedMessageWriter<Response>, for streamed responses",
        line: 3, column: 28),
    Refusal(
        testDescription: "no response",
        source: "@RPCService\nprotocol Echo: Sendable {\n    func say(_ text: Text) async throws\n}",
        message:
            "a method with one response must return it (stream responses with a TypedMessageWriter parameter)",
        line: 3, column: 13),
    Refusal(
        testDescription: "a streaming method that returns",
        source:
            "@RPCService\nprotocol Echo: Sendable {\n    func say(_ text: Text, responses: TypedMessageWriter<Text>) async throws -> Int\n}",
        message: "a method that streams its responses through a TypedMessageWriter returns nothing", line: 3,
        column: 81),
    Refusal(
        testDescription: "an empty wire name",
        source:
            "@RPCService\nprotocol Echo: Sendable {\n    @RPCName(\"\")\n    func say(_ text: Text) async throws -> Text\n}",
        message: "a wire name is a non-empty string literal", line: 3, column: 5),
]

@Suite("@RPCService diagnostics")
struct RPCServiceDiagnosticTests {
    @Test("an unsupported declaration is refused where it is written", arguments: refusals)
    func refused(_ refusal: Refusal) {
        expectRefusal(of: refusal.source, message: refusal.message, line: refusal.line, column: refusal.column)
    }
}
