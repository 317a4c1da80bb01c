/// Fails the run when a harness invariant does not hold. `fatalError` (not `precondition`)
/// so the message survives `-O` and shows in libFuzzer's crash report.
public func fuzzCheck(
    _ condition: Bool, _ message: @autoclosure () -> String, file: StaticString = #fileID, line: UInt = #line
) {
    if !condition { fatalError("fuzz invariant: \(message())", file: file, line: line) }
}

/// The bytes libFuzzer hands `LLVMFuzzerTestOneInput`, copied into an array.
public func fuzzBytes(_ data: UnsafePointer<UInt8>?, _ size: Int) -> [UInt8] {
    guard let data, size > 0 else { return [] }
    return Array(UnsafeBufferPointer(start: data, count: size))
}
