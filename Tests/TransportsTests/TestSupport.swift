import Foundation
import TestSupport
import Testing

@testable import Transports

/// Fails the test instead of hanging when `body` takes longer than `limit`.
func withTimeout<T: Sendable>(
    _ limit: Duration = .seconds(20), sourceLocation: SourceLocation = #_sourceLocation,
    _ body: @escaping @Sendable () async throws -> T
) async throws -> T {
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: limit)
            return nil
        }
        defer { group.cancelAll() }
        guard let first = try await group.next(), let value = first else {
            Issue.record("timed out after \(limit)", sourceLocation: sourceLocation)
            throw TimeoutError()
        }
        return value
    }
}

struct TimeoutError: Error {}

/// The simulated host 10.0.0.`last`.
func host(_ last: UInt8) -> SocketAddress.Host {
    .ipv4(UInt32(0x0A00_0000 | UInt32(last)).bigEndian)
}

/// Port `port` of the simulated host 10.0.0.`last`.
func address(_ last: UInt8, port: UInt16 = 7946) -> SocketAddress {
    SocketAddress(host: host(last), port: port)
}

/// Serves every accepted connection's streams by echoing bytes back until the peer finishes.
func startEchoServer(_ listener: any ConnectionListener) -> Task<Void, Never> {
    Task {
        await withTaskGroup(of: Void.self) { group in
            while let connection = try? await listener.accept() {
                group.addTask {
                    await withTaskGroup(of: Void.self) { streams in
                        while let stream = try? await connection.acceptStream() {
                            streams.addTask { try? await echo(stream) }
                        }
                    }
                }
            }
        }
    }
}

func echo(_ stream: TransportStream) async throws {
    while let chunk = try await stream.read() {
        try await stream.write(chunk)
    }
    try await stream.finish()
}

/// Deterministic pseudo-random bytes for integrity checks.
func patternBytes(count: Int, seed: UInt64) -> [UInt8] {
    var state = seed &* 0x9E37_79B9_7F4A_7C15 | 1
    return (0..<count).map { _ in
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        return UInt8(truncatingIfNeeded: state)
    }
}

/// What the given descriptors (all of this process's when nil) point at, e.g. `socket:[123]`:
/// unique per open socket, unlike descriptor numbers, which parallel tests reuse.
func openDescriptorTargets(of descriptors: [Int32]? = nil) -> Set<String> {
    let names =
        descriptors.map { $0.map(String.init) }
        ?? ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? [])
    return Set(
        names.compactMap { try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\($0)") }.filter {
            $0.hasPrefix("socket:")
        })
}
