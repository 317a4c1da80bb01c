// swift-tools-version:6.1
import PackageDescription

// libFuzzer harnesses for RpcNet's decoders and its SWIM state machine (issue 12). Built by
// `make fuzz` with `-sanitize=fuzzer,address -DFUZZING -parse-as-library` (libFuzzer supplies
// `main`); a plain build makes the same executables replay corpus files given on the command line.
// Every harness uses `@testable import RpcNet`, so both builds pass `-enable-testing`.
//
// The root package is reached through the symlink `Fuzz/RpcNet -> ..` rather than the path `..`:
// SwiftPM names a path dependency after its last path component, and `..` would take the
// checkout directory's name, which clashes with this package's own identity (`fuzz`) in a
// checkout or worktree named `fuzz`.

let strictSwift: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

/// One executable per harness, each with the shared input reader and replay driver.
func harness(_ name: String) -> Target {
    .executableTarget(
        name: name,
        dependencies: ["FuzzSupport", .product(name: "RpcNet", package: "RpcNet")],
        swiftSettings: strictSwift
    )
}

let package = Package(
    name: "RpcNetFuzz",
    // Without RpcNet's default trait `Macros`: the harnesses use no macro, and building
    // swift-syntax with -sanitize=fuzzer,address would take most of the fuzzing budget.
    dependencies: [.package(path: "RpcNet", traits: [])],
    targets: [
        .target(name: "FuzzSupport", swiftSettings: strictSwift),
        harness("FuzzFrameDecoder"),
        harness("FuzzBinaryCodec"),
        harness("FuzzGossipCodec"),
        harness("FuzzMembership"),
    ],
    swiftLanguageModes: [.v6]
)
