public import SwiftSyntax
public import SwiftSyntaxMacros

/// `@RPCService`: from a protocol of async methods, a typed client (`<Protocol>Client`) with the
/// methods' descriptors, and `register(on:)` for implementations (an extension of the protocol).
public struct RPCServiceMacro: PeerMacro, ExtensionMacro {
    public static func expansion(
        of node: AttributeSyntax, providingPeersOf declaration: some DeclSyntaxProtocol,
        in context: some MacroExpansionContext
    ) throws -> [DeclSyntax] {
        guard let service = read(declaration, attribute: node, in: context) else { return [] }
        return [DeclSyntax(stringLiteral: ClientWriter(service: service).source)]
    }

    public static func expansion(
        of node: AttributeSyntax, attachedTo declaration: some DeclGroupSyntax,
        providingExtensionsOf type: some TypeSyntaxProtocol, conformingTo protocols: [TypeSyntax],
        in context: some MacroExpansionContext
    ) throws -> [ExtensionDeclSyntax] {
        // The peer expansion reports the refusals; this one stays silent.
        guard let protocolDeclaration = declaration.as(ProtocolDeclSyntax.self) else { return [] }
        var errors: [ServiceError] = []
        guard let service = try? ServiceDefinition(protocolDeclaration, attribute: node, errors: &errors),
            errors.isEmpty
        else { return [] }
        let source = RegistrationWriter(service: service).source
        guard let extensionDeclaration = DeclSyntax(stringLiteral: source).as(ExtensionDeclSyntax.self) else {
            return []
        }
        return [extensionDeclaration]
    }

    /// The service, or `nil` after reporting every refusal at its declaration.
    private static func read(
        _ declaration: some DeclSyntaxProtocol, attribute: AttributeSyntax, in context: some MacroExpansionContext
    ) -> ServiceDefinition? {
        guard let protocolDeclaration = declaration.as(ProtocolDeclSyntax.self) else {
            let name = declaration.asProtocol((any NamedDeclSyntax).self)?.name
            context.diagnose(
                (name.map { ServiceError(.notAProtocol, at: $0) } ?? ServiceError(.notAProtocol, at: declaration))
                    .asDiagnostic)
            return nil
        }
        var errors: [ServiceError] = []
        let service: ServiceDefinition
        do {
            service = try ServiceDefinition(protocolDeclaration, attribute: attribute, errors: &errors)
        } catch {
            errors.append(error)
            for error in errors { context.diagnose(error.asDiagnostic) }
            return nil
        }
        for error in errors { context.diagnose(error.asDiagnostic) }
        return errors.isEmpty ? service : nil
    }
}

/// `@RPCName("…")` and `@Idempotent` on a service method: markers `@RPCService` reads; they
/// expand to nothing themselves.
public struct RPCMethodMarkerMacro: PeerMacro {
    public static func expansion(
        of node: AttributeSyntax, providingPeersOf declaration: some DeclSyntaxProtocol,
        in context: some MacroExpansionContext
    ) throws -> [DeclSyntax] {
        []
    }
}
