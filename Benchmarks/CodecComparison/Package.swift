// swift-tools-version:6.1
import PackageDescription

// BinaryCodec, JSONCodec and swift-protobuf side by side on the same messages (issue 13). A separate
// package, so that swift-protobuf and the benchmark package never enter RpcNet's own dependency
// graph. Run it with `make bench-codec` from the repository root. The protobuf Swift is generated
// by generate.sh and committed, so building needs neither protoc nor swift-protobuf's plugin.
//
// The root package is reached through the symlink `RpcNet -> ../..` rather than the path `../..`:
// SwiftPM names a path dependency after its last path component, and `../..` would take the
// checkout directory's name (see Fuzz/Package.swift).
//
// ordo-one/benchmark enables its `RuntimeInterposer` trait by default, which on Linux with Swift 6.3
// pulls in a package this machine does not have; naming the traits here keeps only the malloc
// interposer, which is what the malloc counts need.
let package = Package(
    name: "CodecComparison",
    products: [
        .executable(name: "codec-sizes", targets: ["CodecSizes"])
    ],
    dependencies: [
        .package(path: "RpcNet"),
        .package(url: "https://github.com/apple/swift-protobuf.git", exact: "1.39.0"),
        .package(url: "https://github.com/ordo-one/benchmark.git", exact: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .target(
            name: "CodecMessages",
            dependencies: [
                .product(name: "RpcNet", package: "RpcNet"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ]
        ),
        .executableTarget(name: "CodecSizes", dependencies: ["CodecMessages"]),
        .executableTarget(
            name: "CodecBenchmarks",
            dependencies: ["CodecMessages", .product(name: "Benchmark", package: "benchmark")],
            path: "Benchmarks/CodecBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ],
    swiftLanguageModes: [.v6]
)
