// swift-tools-version:6.1
import CompilerPluginSupport
import PackageDescription

/// Swift settings shared by every Swift target: Swift 6 language mode with strict concurrency.
let strictSwift: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "RpcNet",
    platforms: [.macOS(.v15)],
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
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log", from: "1.16.0"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.1.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.5.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
        .package(url: "https://github.com/apple/swift-async-algorithms", from: "1.0.0"),
        .package(url: "https://github.com/apple/swift-distributed-tracing", from: "1.7.0"),
        .package(url: "https://github.com/swiftlang/swift-syntax", "600.0.0"..<"604.0.0"),
    ],
    targets: [
        .target(
            name: "CRpcNet",
            cSettings: [.define("_GNU_SOURCE")],
            linkerSettings: [
                .linkedLibrary("ngtcp2_crypto_gnutls"),
                .linkedLibrary("ngtcp2"),
                .linkedLibrary("gnutls"),
                .linkedLibrary("ev"),
            ]
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
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Examples/EchoDemo",
            swiftSettings: strictSwift
        ),
        .target(
            name: "ClusterExample",
            dependencies: [
                "RpcNet", .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Examples/Cluster/Shared",
            swiftSettings: strictSwift
        ),
        .executableTarget(
            name: "ClusterDirector",
            dependencies: [
                "ClusterExample", "RpcNet", .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Examples/Cluster/Director",
            swiftSettings: strictSwift
        ),
        .executableTarget(
            name: "ClusterWorker",
            dependencies: [
                "ClusterExample", "RpcNet", .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Examples/Cluster/Worker",
            swiftSettings: strictSwift
        ),
        .executableTarget(
            name: "ClusterClientExample",
            dependencies: [
                "ClusterExample", "RpcNet", .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
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
            dependencies: ["RpcNet", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: strictSwift
        ),
        .executableTarget(
            name: "RpcNetBenchmarks",
            dependencies: [
                "RpcNet",
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Benchmarks/RpcNetBenchmarks",
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "RpcNetTests",
            dependencies: [
                "RpcNet", "ClusterExample", .product(name: "Logging", package: "swift-log"),
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
            dependencies: ["Transports", "CRpcNet"],
            swiftSettings: strictSwift
        ),
    ],
    swiftLanguageModes: [.v6]
)
