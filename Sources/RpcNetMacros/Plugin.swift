import SwiftCompilerPlugin
import SwiftSyntaxMacros

/// The compiler plugin that provides RpcNet's macros (declared in `RpcNet`, RPCServiceMacros.swift).
@main
struct RpcNetMacrosPlugin: CompilerPlugin {
    let providingMacros: [any Macro.Type] = [RPCServiceMacro.self, RPCMethodMarkerMacro.self]
}
