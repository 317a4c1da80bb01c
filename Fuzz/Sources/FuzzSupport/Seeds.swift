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
