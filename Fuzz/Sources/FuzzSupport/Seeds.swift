import Foundation

/// A named seed input for a harness's corpus.
public struct Seed {
    public var name: String
    public var bytes: [UInt8]

    public init(_ name: String, _ bytes: [UInt8]) {
        self.name = name
        self.bytes = bytes
    }
}

/// Writes `seeds` into `directory` as `seed-<name>` files; the plain build runs this for
/// `--write-seeds DIR`, which is how `Fuzz/Corpus/` was made (`make fuzz-seeds`).
public func writeSeeds(_ seeds: [Seed], to directory: String) {
    try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    for seed in seeds {
        let path = "\(directory)/seed-\(seed.name)"
        guard FileManager.default.createFile(atPath: path, contents: Data(seed.bytes)) else {
            fatalError("cannot write \(path)")
        }
    }
    print("wrote \(seeds.count) seeds to \(directory)")
}

/// The hex dumps of the code blocks of docs/PROTOCOL.md between the headings `from` and `to`:
/// on each line, the leading two-digit uppercase hex words up to the first other word (the
/// comment), as `GossipWireExampleTests` reads §7.7. Blocks without hex are left out.
public func documentedHexBlocks(from: String, to: String) -> [[UInt8]] {
    let document = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("docs/PROTOCOL.md")
    guard let text = try? String(contentsOf: document, encoding: .utf8),
        let start = text.range(of: from), let end = text.range(of: to, range: start.upperBound..<text.endIndex)
    else { fatalError("cannot find \(from) … \(to) in \(document.path)") }
    var blocks: [[UInt8]] = []
    var current: [UInt8]?
    for line in text[start.upperBound..<end.lowerBound].split(separator: "\n", omittingEmptySubsequences: false) {
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

/// The plain build's `main`: `--write-seeds DIR` writes the harness's seeds, anything else is
/// replayed as corpus files or directories.
public func plainMain(_ body: ([UInt8]) -> Void, seeds: () -> [Seed]) {
    let arguments = CommandLine.arguments.dropFirst()
    if arguments.first == "--write-seeds", let directory = arguments.dropFirst().first {
        writeSeeds(seeds(), to: directory)
    } else {
        replayCorpus(arguments, body)
    }
}
