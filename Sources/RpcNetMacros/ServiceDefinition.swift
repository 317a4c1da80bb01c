import SwiftSyntax

/// An `@RPCService` protocol as read from its declaration and the macro's arguments.
struct ServiceDefinition {
    /// The protocol's name.
    let name: String
    /// The service part of the wire names (`name` unless the macro's first argument says).
    let wireName: String
    /// The access modifier the generated declarations copy from the protocol (`public `, or empty).
    let access: String
    /// The error type of methods that declare none (the macro's `errors:` argument).
    let failureType: String?
    let methods: [ServiceMethod]

    /// Reads the protocol; every refusal found is collected into `errors`, and only a
    /// definition without any is returned.
    init(_ declaration: ProtocolDeclSyntax, attribute: AttributeSyntax, errors: inout [ServiceError])
        throws(ServiceError)
    {
        name = declaration.name.text
        access =
            declaration.modifiers.first {
                ["public", "package", "internal", "fileprivate", "private"].contains($0.name.text)
            }
            .map { "\($0.name.text) " } ?? ""
        var wireName = declaration.name.text
        var failureType: String?
        if case .argumentList(let arguments) = attribute.arguments {
            for argument in arguments {
                if argument.label?.text == "errors" {
                    let type = argument.expression.trimmedDescription
                    failureType = type.hasSuffix(".self") ? String(type.dropLast(5)) : type
                } else if let literal = argument.expression.as(StringLiteralExprSyntax.self),
                    let value = literal.representedLiteralValue, !value.isEmpty
                {
                    wireName = value
                } else {
                    throw ServiceError(.invalidName, at: argument)
                }
            }
        }
        self.wireName = wireName
        self.failureType = failureType
        let inherited = declaration.inheritanceClause?.inheritedTypes.map { $0.type.trimmedDescription } ?? []
        if !inherited.contains(where: { ["Sendable", "Swift.Sendable"].contains($0) }) {
            errors.append(ServiceError(.notSendable, at: declaration.name))
        }
        var methods: [ServiceMethod] = []
        for member in declaration.memberBlock.members {
            guard let function = member.decl.as(FunctionDeclSyntax.self) else {
                errors.append(ServiceError(.notAFunction, at: member.decl))
                continue
            }
            do {
                methods.append(try ServiceMethod(function))
            } catch {
                errors.append(error)
            }
        }
        self.methods = methods
    }

    /// The wire name of `method`.
    func wireName(of method: ServiceMethod) -> String {
        "\(wireName).\(method.wireName ?? method.name)"
    }

    /// The error type `method`'s callers get back typed.
    func failureType(of method: ServiceMethod) -> String {
        method.failureType ?? failureType ?? "RpcNet.NoServiceError"
    }
}
