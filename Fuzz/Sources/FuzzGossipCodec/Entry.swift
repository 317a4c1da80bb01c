import FuzzSupport

/// The entry point: libFuzzer in a fuzzer build, corpus replay in a plain one (`fuzzMain`).
@main
enum Main {
    static func main() {
        fuzzMain(fuzzGossipCodec, seeds: seedsGossipCodec)
    }
}
