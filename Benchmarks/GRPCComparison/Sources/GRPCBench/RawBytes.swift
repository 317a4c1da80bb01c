import GRPCCore

/// Messages are raw bytes: no SwiftProtobuf and no generated code, so the figures measure
/// gRPC-Swift's call machinery and HTTP/2 transport, as RpcNet's benchmark measures its own.
struct RawBytesSerializer: MessageSerializer {
    func serialize<Bytes: GRPCContiguousBytes>(_ message: [UInt8]) throws -> Bytes {
        Bytes(message)
    }
}

struct RawBytesDeserializer: MessageDeserializer {
    func deserialize<Bytes: GRPCContiguousBytes>(_ serializedMessageBytes: Bytes) throws -> [UInt8] {
        serializedMessageBytes.withUnsafeBytes { [UInt8]($0) }
    }
}

/// The benchmark service, registered through the generic router API: `Echo` (unary, returns the
/// request) and `Stream` (server streaming: the request is a decimal count, the response that
/// many 64-byte messages, each written on its own).
struct BenchService: RegistrableRPCService {
    static let echo = MethodDescriptor(fullyQualifiedService: "bench.Bench", method: "Echo")
    static let stream = MethodDescriptor(fullyQualifiedService: "bench.Bench", method: "Stream")

    func registerMethods<Transport: ServerTransport>(with router: inout RPCRouter<Transport>) {
        router.registerHandler(
            forMethod: Self.echo, deserializer: RawBytesDeserializer(), serializer: RawBytesSerializer()
        ) { request, _ in
            let single = try await ServerRequest(stream: request)
            return StreamingServerResponse(single: ServerResponse(message: single.message))
        }
        router.registerHandler(
            forMethod: Self.stream, deserializer: RawBytesDeserializer(), serializer: RawBytesSerializer()
        ) { request, _ in
            let single = try await ServerRequest(stream: request)
            let count = Int(String(decoding: single.message, as: UTF8.self)) ?? 0
            return StreamingServerResponse { writer in
                let message = [UInt8](repeating: 7, count: 64)
                for _ in 0..<count { try await writer.write(message) }
                return [:]
            }
        }
    }
}
