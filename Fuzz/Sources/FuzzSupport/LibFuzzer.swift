#if FUZZING
    import Foundation

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
    public func runLibFuzzer(_ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> Never {
        var argc = CommandLine.argc
        var argv = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv, callback))
    }
#endif
