import SwiftSyntax

/// One method of an `@RPCService` protocol, as read from its declaration.
struct ServiceMethod {
    /// The four call kinds, told apart by the requirement's shape.
    enum Kind {
        /// `func m(_ request: Request) async throws -> Response`
        case unary
        /// `func m(_ request: Request, responses: TypedMessageWriter<Response>) async throws`
        case serverStreaming
        /// `func m(_ requests: TypedMessageStream<Request>) async throws -> Response`
        case clientStreaming
        /// `func m(_ requests: TypedMessageStream<Request>, responses: TypedMessageWriter<Response>) async throws`
        case bidirectional
    }

    /// A parameter of the requirement: how a call passes it and what the body calls it.
    struct Parameter {
        /// The argument label (`nil` for `_`).
        let label: String?
        /// The name inside the body.
        let name: String

        /// How a declaration spells it: `_ name`, `name`, or `label name`.
        var declaration: String {
            switch label {
            case nil: "_ \(name)"
            case name: name
            case let label?: "\(label) \(name)"
            }
        }
    }

    /// The Swift name.
    let name: String
    let kind: Kind
    /// The request message type (the element type for a stream of requests).
    let requestType: String
    /// The response message type (the element type for a stream of responses).
    let responseType: String
    /// The error type its callers get back typed, from `throws(E)`; `nil` for the service's.
    let failureType: String?
    /// `@RPCName("…")`: the method part of the wire name, if not the Swift name.
    let wireName: String?
    /// `@Idempotent`: running it twice is harmless.
    let isIdempotent: Bool
    /// Whether the requirement throws (so a call to it needs `try`).
    let isThrowing: Bool
    /// The request (or request stream) parameter.
    let request: Parameter
    /// The response writer parameter, for server-streaming and bidirectional methods.
    let responses: Parameter?
    /// The trailing `ServerContext` parameter, if the requirement takes one.
    let context: Parameter?

    /// Reads a requirement, or throws what makes it unusable as a service method.
    init(_ function: FunctionDeclSyntax) throws(ServiceError) {
        if let modifier = function.modifiers.first(where: { ["static", "class"].contains($0.name.text) }) {
            throw ServiceError(.staticMethod, at: modifier)
        }
        if let generics = function.genericParameterClause { throw ServiceError(.genericMethod, at: generics) }
        let effects = function.signature.effectSpecifiers
        guard effects?.asyncSpecifier != nil else { throw ServiceError(.notAsync, at: function.name) }
        name = function.name.text
        isThrowing = effects?.throwsClause != nil
        failureType = effects?.throwsClause?.type.map { $0.trimmedDescription }
        (wireName, isIdempotent) = try Self.markers(function.attributes)

        var parameters = Array(function.signature.parameterClause.parameters)
        for parameter in parameters where parameter.ellipsis != nil || parameter.defaultValue != nil {
            throw ServiceError(.unsupportedParameter, at: parameter)
        }
        for parameter in parameters {
            if let attributed = parameter.type.as(AttributedTypeSyntax.self), !attributed.specifiers.isEmpty {
                throw ServiceError(.unsupportedParameter, at: parameter)
            }
        }
        context = parameters.last.flatMap { Self.named($0.type, "ServerContext") != nil ? Self.parameter($0) : nil }
        if context != nil { parameters.removeLast() }
        guard let first = parameters.first else {
            throw ServiceError(.noRequest, at: function.signature.parameterClause)
        }
        if parameters.count > 2 { throw ServiceError(.tooManyParameters, at: parameters[2]) }
        request = Self.parameter(first)
        let streamedRequest = Self.named(first.type, "TypedMessageStream")
        if Self.named(first.type, "TypedMessageWriter") != nil { throw ServiceError(.noRequest, at: first) }
        requestType = streamedRequest ?? first.type.trimmedDescription

        let returned = function.signature.returnClause?.type
        let returnsValue = returned.map { !["Void", "()"].contains($0.trimmedDescription) } ?? false
        if parameters.count == 2 {
            guard let element = Self.named(parameters[1].type, "TypedMessageWriter") else {
                throw ServiceError(.responsesNotLast, at: parameters[1])
            }
            if returnsValue, let returned { throw ServiceError(.streamingReturnsValue, at: returned) }
            responses = Self.parameter(parameters[1])
            responseType = element
            kind = streamedRequest == nil ? .serverStreaming : .bidirectional
        } else {
            guard returnsValue, let returned else { throw ServiceError(.missingResponse, at: function.signature) }
            responses = nil
            responseType = returned.trimmedDescription
            kind = streamedRequest == nil ? .unary : .clientStreaming
        }
    }

    /// The label and name of a parameter.
    private static func parameter(_ syntax: FunctionParameterSyntax) -> Parameter {
        let label = syntax.firstName.text == "_" ? nil : syntax.firstName.text
        return Parameter(label: label, name: (syntax.secondName ?? syntax.firstName).text)
    }

    /// The generic argument of `type` when it is `name<Argument>` (or `RpcNet.name<Argument>`);
    /// for `ServerContext`, an empty string when `type` is it.
    static func named(_ type: TypeSyntax, _ name: String) -> String? {
        let (base, arguments): (String, GenericArgumentListSyntax?) =
            if let identifier = type.as(IdentifierTypeSyntax.self) {
                (identifier.name.text, identifier.genericArgumentClause?.arguments)
            } else if let member = type.as(MemberTypeSyntax.self), member.baseType.trimmedDescription == "RpcNet" {
                (member.name.text, member.genericArgumentClause?.arguments)
            } else {
                ("", nil)
            }
        guard base == name else { return nil }
        guard let arguments else { return "" }
        guard arguments.count == 1, let argument = arguments.first else { return nil }
        return argument.argument.trimmedDescription
    }

    /// `@RPCName("…")` and `@Idempotent` among a requirement's attributes.
    private static func markers(_ attributes: AttributeListSyntax) throws(ServiceError) -> (String?, Bool) {
        var wireName: String?
        var isIdempotent = false
        for case .attribute(let attribute) in attributes {
            switch attribute.attributeName.trimmedDescription {
            case "RPCName", "RpcNet.RPCName":
                guard case .argumentList(let arguments) = attribute.arguments, arguments.count == 1,
                    let literal = arguments.first?.expression.as(StringLiteralExprSyntax.self),
                    let value = literal.representedLiteralValue, !value.isEmpty
                else { throw ServiceError(.invalidName, at: attribute) }
                wireName = value
            case "Idempotent", "RpcNet.Idempotent":
                isIdempotent = true
            default:
                break
            }
        }
        return (wireName, isIdempotent)
    }
}
