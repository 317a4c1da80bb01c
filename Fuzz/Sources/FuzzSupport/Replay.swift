import Foundation

/// The driver of a plain (non-fuzzer) build: runs `body` on every file of each directory, or on
/// each file, named in `arguments`, so `make fuzz-replay` and CI can replay the committed seed
/// corpora and past crash inputs without libFuzzer. A failed invariant traps, as it would under
/// the fuzzer; otherwise prints how many inputs ran and exits 0.
public func replayCorpus(_ arguments: some Collection<String>, _ body: ([UInt8]) -> Void) {
    var count = 0
    for path in arguments {
        for file in files(at: path) {
            guard let data = FileManager.default.contents(atPath: file) else {
                print("cannot read \(file)")
                exit(2)
            }
            body(Array(data))
            count += 1
        }
    }
    print("replayed \(count) inputs")
}

/// `path` itself if it is a file, else the regular files directly inside it, sorted.
private func files(at path: String) -> [String] {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { return [] }
    guard isDirectory.boolValue else { return [path] }
    let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
    return names.sorted().map { "\(path)/\($0)" }.filter { !$0.hasSuffix("/.") }
}
