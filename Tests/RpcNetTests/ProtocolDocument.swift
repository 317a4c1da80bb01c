import Foundation

/// docs/PROTOCOL.md as tests and fuzz seeds read it: its byte examples are checked against the
/// code, so the document cannot drift from it. (Fuzz/Sources/FuzzSupport links to this file.)
public enum ProtocolDocument {
    /// The hex of each code block between the first `from` and the next `to` (or the end of the
    /// document), in order: on every line, the leading two-digit uppercase hex words, up to the
    /// first word of the comment. Blocks without hex are left out.
    public static func hexBlocks(from: String, to: String) throws -> [[UInt8]] {
        let text = try String(contentsOf: try location(), encoding: .utf8)
        guard let start = text.range(of: from)?.upperBound else { throw CocoaError(.fileReadCorruptFile) }
        let end = text.range(of: to, range: start..<text.endIndex)?.lowerBound ?? text.endIndex
        var blocks: [[UInt8]] = []
        var current: [UInt8]?
        for line in text[start..<end].split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("```") {
                if let finished = current, !finished.isEmpty { blocks.append(finished) }
                current = current == nil ? [] : nil
                continue
            }
            guard current != nil else { continue }
            for word in line.split(separator: " ") {
                guard word.count == 2, let byte = UInt8(word, radix: 16), word.uppercased() == word else { break }
                current!.append(byte)
            }
        }
        return blocks
    }

    /// docs/PROTOCOL.md in the first folder above this source file that has it.
    private static func location() throws -> URL {
        var folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while folder.path != "/" {
            let candidate = folder.appendingPathComponent("docs/PROTOCOL.md")
            if FileManager.default.fileExists(atPath: candidate.path) { return candidate }
            folder.deleteLastPathComponent()
        }
        throw CocoaError(.fileNoSuchFile)
    }
}
