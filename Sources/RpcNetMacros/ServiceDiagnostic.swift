import SwiftDiagnostics
import SwiftSyntax

/// What `@RPCService` refuses, each with the message the compiler shows at the offending
/// declaration.
enum ServiceDiagnostic: String, DiagnosticMessage {
    case notAProtocol
    case notSendable
    case notAFunction
    case notAsync
    case staticMethod
    case genericMethod
    case noRequest
    case tooManyParameters
    case unsupportedParameter
    case responsesNotLast
    case missingResponse
    case streamingReturnsValue
    case invalidName

    var message: String {
        switch self {
        case .notAProtocol: "@RPCService applies to a protocol declaring the service's methods"
        case .notSendable:
            "an @RPCService protocol must refine Sendable: one implementation serves concurrent calls"
        case .notAFunction: "an @RPCService protocol declares methods only (async functions)"
        case .notAsync: "a service method must be async"
        case .staticMethod: "a service method must be an instance method"
        case .genericMethod: "a service method cannot be generic: its request and response types travel on the wire"
        case .noRequest:
            "a service method takes its request first: a message, or TypedMessageStream<Request> for a stream of them"
        case .tooManyParameters:
            "a service method takes a request, optionally TypedMessageWriter<Response> for streamed responses, and optionally a ServerContext last"
        case .unsupportedParameter: "inout, variadic and defaulted parameters cannot travel in a call"
        case .responsesNotLast:
            "the second parameter of a service method must be TypedMessageWriter<Response>, for streamed responses"
        case .missingResponse:
            "a method with one response must return it (stream responses with a TypedMessageWriter parameter)"
        case .streamingReturnsValue:
            "a method that streams its responses through a TypedMessageWriter returns nothing"
        case .invalidName: "a wire name is a non-empty string literal"
        }
    }

    var diagnosticID: MessageID { MessageID(domain: "RpcNetMacros", id: rawValue) }
    var severity: DiagnosticSeverity { .error }
}

/// A refusal found while reading a declaration: the message and the node it points at.
struct ServiceError: Error {
    let node: any SyntaxProtocol
    let diagnostic: ServiceDiagnostic

    init(_ diagnostic: ServiceDiagnostic, at node: some SyntaxProtocol) {
        self.node = node
        self.diagnostic = diagnostic
    }

    var asDiagnostic: Diagnostic { Diagnostic(node: Syntax(node), message: diagnostic) }
}
