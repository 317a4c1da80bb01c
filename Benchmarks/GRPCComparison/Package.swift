// swift-tools-version:6.1
import PackageDescription

/// gRPC-Swift 2 side-by-side benchmark. A separate package, so that gRPC, SwiftNIO and NIOSSL
/// never enter RpcNet's own dependency graph. Run it with `make bench-grpc` from the repository
/// root. No code generation and no SwiftProtobuf: messages are raw bytes.
let package = Package(
    name: "GRPCComparison",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "grpc-bench", targets: ["GRPCBench"])
    ],
    dependencies: [
        .package(url: "https://github.com/grpc/grpc-swift-2.git", from: "2.4.3"),
        .package(url: "https://github.com/grpc/grpc-swift-nio-transport.git", from: "2.9.2"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.96.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
    ],
    targets: [
        .executableTarget(
            name: "GRPCBench",
            dependencies: [
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2Posix", package: "grpc-swift-nio-transport"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: [.swiftLanguageMode(.v6)]
        )
    ]
)
