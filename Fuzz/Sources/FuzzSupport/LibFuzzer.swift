import Foundation

/// Every harness's `main`: a fuzzer build (`-sanitize=fuzzer -DFUZZING`) hands `harness` to
/// libFuzzer, which takes libFuzzer's flags; a plain build replays the corpus files and
/// directories it is given, or writes `seeds` with `--write-seeds DIR` (`plainMain`).
public func fuzzMain(_ harness: @escaping ([UInt8]) -> Void, seeds: () -> [Seed]) {
    #if FUZZING
        installedHarness = harness
        runLibFuzzer(fuzzTestOneInput)
    #else
        plainMain(harness, seeds: seeds)
    #endif
}

#if FUZZING
    /// The harness libFuzzer's callback runs: set once by `fuzzMain` before libFuzzer starts, and
    /// read only from libFuzzer's single fuzzing thread afterwards.
    nonisolated(unsafe) private var installedHarness: ([UInt8]) -> Void = { _ in }

    /// libFuzzer's per-input callback, exported under its conventional name too.
    @_cdecl("LLVMFuzzerTestOneInput")
    public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
        installedHarness(fuzzBytes(data, size))
        return 0
    }

    /// libFuzzer's entry for a program with its own `main` (in libclang_rt.fuzzer): parses the
    /// usual libFuzzer flags from `argc`/`argv` and runs `callback` on each input.
    @_silgen_name("LLVMFuzzerRunDriver")
    private func LLVMFuzzerRunDriver(
        _ argc: UnsafeMutablePointer<CInt>,
        _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
        _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
    ) -> CInt

    /// Hands the process to libFuzzer. SwiftPM gives every executable target a `main` of its own
    /// on Linux (it links `main` to `<Target>_main`), so libFuzzer's `main` cannot be used;
    /// `LLVMFuzzerRunDriver` is its documented alternative.
    private func runLibFuzzer(_ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> Never {
        var argc = CommandLine.argc
        var argv = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv, callback))
    }
#endif
