import FuzzSupport

/// The entry point. A fuzzer build (`-sanitize=fuzzer -DFUZZING`) runs libFuzzer on
/// `LLVMFuzzerTestOneInput`, taking libFuzzer's flags; a plain build replays the corpus files
/// and directories it is given, or writes the seeds with `--write-seeds DIR`.
@main
enum Main {
    static func main() {
        #if FUZZING
            runLibFuzzer(fuzzTestOneInput)
        #else
            plainMain(fuzzGossipCodec, seeds: seedsGossipCodec)
        #endif
    }
}

#if FUZZING
    /// libFuzzer's per-input callback, exported under its conventional name too.
    @_cdecl("LLVMFuzzerTestOneInput")
    public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
        fuzzGossipCodec(fuzzBytes(data, size))
        return 0
    }
#endif
