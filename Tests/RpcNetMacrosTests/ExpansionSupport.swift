import RpcNetMacros
import SwiftSyntaxMacroExpansion
import SwiftSyntaxMacrosGenericTestSupport
import Testing

/// The macros under test, by the names source code uses.
private let macros: [String: MacroSpec] = [
    "RPCService": MacroSpec(type: RPCServiceMacro.self),
    "RPCName": MacroSpec(type: RPCMethodMarkerMacro.self),
    "Idempotent": MacroSpec(type: RPCMethodMarkerMacro.self),
]

/// Expands the macros in `source` and checks the result and the diagnostics, reporting any
/// difference as a test issue at the caller.
func expectExpansion(
    of source: String, is expanded: String, diagnostics: [DiagnosticSpec] = [],
    sourceLocation: SourceLocation = #_sourceLocation
) {
    assertMacroExpansion(
        source, expandedSource: expanded, diagnostics: diagnostics, macroSpecs: macros,
        failureHandler: { failure in Issue.record(Comment(rawValue: failure.message), sourceLocation: sourceLocation) })
}

/// Expects `source` to expand to itself without the macros' attributes (each on a line of its
/// own), with one error `message` at `line`:`column`.
func expectRefusal(
    of source: String, message: String, line: Int, column: Int, sourceLocation: SourceLocation = #_sourceLocation
) {
    let attribute = /^\s*@(RPCService|RPCName|Idempotent)/
    let expanded = source.split(separator: "\n", omittingEmptySubsequences: false)
        .filter { !$0.contains(attribute) }.joined(separator: "\n")
    expectExpansion(
        of: source, is: expanded, diagnostics: [DiagnosticSpec(message: message, line: line, column: column)],
        sourceLocation: sourceLocation)
}
