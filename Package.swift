// swift-tools-version:6.1
import CompilerPluginSupport
import PackageDescription

/// Swift settings shared by every Swift target: Swift 6 language mode with strict concurrency.
/// Nonisolated async functions and closures run on their caller's executor (SE-0461) unless marked
/// `@concurrent`: a call's functions stay on the reactor its task prefers without the runtime
/// looking the preference up at each call boundary, which cost ~6 % of the CPU of a unary call
/// (docs/BENCHMARKS.md).
let strictSwift: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
    .enableUpcomingFeature("NonisolatedNonsendingByDefault"),
]

/// swift-argument-parser, which only the executables use (the examples and rpcnet-bench): behind the
/// trait `Executables`, off by default. SwiftPM resolves every dependency of a dependency whatever
/// products a consumer uses, except one whose every use is behind a trait that is off, so this keeps
/// swift-argument-parser out of the graph of a package that depends on RpcNet or Transports.
let argumentParser = Target.Dependency.product(
    name: "ArgumentParser", package: "swift-argument-parser", condition: .when(traits: ["Executables"]))

/// A C library the glue links, declared with its module map in `Sources/CRpcNet/System/<name>`
/// (docs/ARCHITECTURE.md): flags from `pkgConfig` where the library ships a `.pc` file, and the
/// packages that provide it, which SwiftPM names when the `.pc` file is missing.
func systemLibrary(_ name: String, pkgConfig: String?, providers: [SystemPackageProvider]) -> Target {
    .systemLibrary(name: name, path: "Sources/CRpcNet/System/\(name)", pkgConfig: pkgConfig, providers: providers)
}

/// `make docs` sets RPCNET_DOCS=1 to add swift-docc-plugin (`swift package generate-documentation`);
/// a package that depends on RpcNet never resolves it.
let documentation = Context.environment["RPCNET_DOCS"] == "1"

// Linux only (no `platforms`): the transport uses recvmmsg/sendmmsg, UDP GSO/GRO and Glibc (README, Platforms).
let package = Package(
    name: "RpcNet",
    products: [
        .library(name: "RpcNet", targets: ["RpcNet"]),
        .library(name: "Transports", targets: ["Transports"]),
        .executable(name: "rpcnet-echo", targets: ["EchoDemo"]),
        .executable(name: "rpcnet-bench", targets: ["RpcNetBenchmarks"]),
        .executable(name: "rpcnet", targets: ["RpcNetCLI"]),
        .executable(name: "director", targets: ["ClusterDirector"]),
        .executable(name: "worker", targets: ["ClusterWorker"]),
        .executable(name: "client", targets: ["ClusterClientExample"]),
        .executable(name: "cluster-demo", targets: ["ClusterDemo"]),
    ],
    traits: [
        .default(enabledTraits: ["Macros"]),
        .trait(
            name: "Macros",
            description: "@RPCService and its swift-syntax macro plugin (on by default; the fuzz build turns it off)"),
        .trait(
            name: "Executables",
            description: """
                The examples (rpcnet-echo, director, worker, client, cluster-demo) and rpcnet-bench, with \
                swift-argument-parser, which only they use; off by default. make demo, make test and make bench \
                turn it on (swift build --traits Executables); the tests run the examples' binaries.
                """,
            enabledTraits: ["Macros"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log", from: "1.16.0"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.1.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
        .package(url: "https://github.com/apple/swift-async-algorithms", from: "1.0.0"),
        .package(url: "https://github.com/apple/swift-distributed-tracing", from: "1.7.0"),
        .package(url: "https://github.com/swiftlang/swift-syntax", "600.0.0"..<"604.0.0"),
    ] + (documentation ? [.package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.4.0")] : []),
    targets: [
        systemLibrary("CNgtcp2", pkgConfig: "libngtcp2", providers: [.apt(["libngtcp2-dev"]), .brew(["libngtcp2"])]),
        // Homebrew has no ngtcp2 crypto library for GnuTLS (its libngtcp2 uses OpenSSL).
        systemLibrary(
            "CNgtcp2CryptoGnuTLS", pkgConfig: "libngtcp2_crypto_gnutls",
            providers: [.apt(["libngtcp2-crypto-gnutls-dev"])]),
        systemLibrary("CGnuTLS", pkgConfig: "gnutls", providers: [.apt(["libgnutls28-dev"]), .brew(["gnutls"])]),
        // libev ships no .pc file on Debian: its module map's `link "ev"` links it.
        systemLibrary("CLibev", pkgConfig: nil, providers: [.apt(["libev-dev"]), .brew(["libev"])]),
        .target(
            name: "CRpcNet",
            dependencies: ["CNgtcp2", "CNgtcp2CryptoGnuTLS", "CGnuTLS", "CLibev"],
            exclude: ["System"],
            cSettings: [.define("_GNU_SOURCE")]
        ),
        .target(
            name: "Transports",
            dependencies: [
                "CRpcNet",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "HeapModule", package: "swift-collections"),
            ],
            swiftSettings: strictSwift
        ),
        .macro(
            name: "RpcNetMacros",
            dependencies: [
                .product(name: "SwiftSyntaxMacros", package: "swift-syntax"),
                .product(name: "SwiftCompilerPlugin", package: "swift-syntax"),
            ],
            swiftSettings: strictSwift
        ),
        .target(
            name: "RpcNet",
            dependencies: [
                "Transports",
                "CRpcNet",
                .target(name: "RpcNetMacros", condition: .when(traits: ["Macros"])),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "HeapModule", package: "swift-collections"),
                .product(name: "AsyncAlgorithms", package: "swift-async-algorithms"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
            ],
            swiftSettings: strictSwift
        ),
        .executableTarget(
            name: "EchoDemo",
            dependencies: [
                "RpcNet",
                argumentParser,
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Examples/EchoDemo",
            swiftSettings: strictSwift
        ),
        .target(
            name: "ClusterExample",
            dependencies: [
                "RpcNet", .product(name: "Logging", package: "swift-log"),
                argumentParser,
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Examples/Cluster/Shared",
            swiftSettings: strictSwift
        ),
        .executableTarget(
            name: "ClusterDirector",
            dependencies: [
                "ClusterExample", "RpcNet", .product(name: "Logging", package: "swift-log"),
                argumentParser,
            ],
            path: "Examples/Cluster/Director",
            swiftSettings: strictSwift
        ),
        .executableTarget(
            name: "ClusterWorker",
            dependencies: [
                "ClusterExample", "RpcNet", .product(name: "Logging", package: "swift-log"),
                argumentParser,
            ],
            path: "Examples/Cluster/Worker",
            swiftSettings: strictSwift
        ),
        .executableTarget(
            name: "ClusterClientExample",
            dependencies: [
                "ClusterExample", "RpcNet", .product(name: "Logging", package: "swift-log"),
                argumentParser,
            ],
            path: "Examples/Cluster/Client",
            swiftSettings: strictSwift
        ),
        .executableTarget(
            name: "ClusterDemo",
            dependencies: ["ClusterExample", .product(name: "Logging", package: "swift-log")],
            path: "Examples/Cluster/Demo",
            swiftSettings: strictSwift
        ),
        .executableTarget(
            name: "RpcNetCLI",
            dependencies: ["RpcNet", argumentParser],
            swiftSettings: strictSwift
        ),
        .executableTarget(
            name: "RpcNetBenchmarks",
            dependencies: [
                "RpcNet",
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                argumentParser,
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Benchmarks/RpcNetBenchmarks",
            swiftSettings: strictSwift
        ),
        // Helpers both test targets use: the repository's paths, the test PKI, reactors and threads.
        .target(
            name: "TestSupport",
            dependencies: ["Transports"],
            path: "Tests/TestSupport",
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "RpcNetTests",
            dependencies: [
                "RpcNet", "ClusterExample", "TestSupport", .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "AsyncAlgorithms", package: "swift-async-algorithms"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "InMemoryTracing", package: "swift-distributed-tracing"),
            ],
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "RpcNetMacrosTests",
            dependencies: [
                "RpcNetMacros",
                .product(name: "SwiftSyntaxMacrosGenericTestSupport", package: "swift-syntax"),
                .product(name: "SwiftSyntaxMacroExpansion", package: "swift-syntax"),
            ],
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "TransportsTests",
            dependencies: [
                "Transports", "CRpcNet", "TestSupport", .product(name: "MetricsTestKit", package: "swift-metrics"),
            ],
            swiftSettings: strictSwift
        ),
    ],
    swiftLanguageModes: [.v6]
)
