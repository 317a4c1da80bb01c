import FuzzSupport

@testable import RpcNet

/// Seeds: the streams of docs/PROTOCOL.md §6 fed whole and in small chunks, and frames with
/// metadata, details and timeouts, under both limit sets.
func seedsFrameDecoder() -> [Seed] {
    let documented = try! ProtocolDocument.hexBlocks(from: "## 6. Examples", to: "## 7.")
    var metadata = Metadata()
    metadata.add("authorization", "Bearer x")
    metadata.add("trace", "é1")
    let frames: [Frame] = [
        .callHeader(CallHeader(method: "Kv.get", timeout: .microseconds(1), metadata: metadata)),
        .callHeader(CallHeader(method: "S.m", timeout: .microseconds(Int64(VarInt.max)), metadata: [:])),
        .message([]), .message(Array("payload".utf8)),
        .trailer(
            Trailer(
                status: RPCStatus(code: .init(rawValue: 9), message: "failed", details: [1, 2, 3]),
                metadata: metadata)),
    ]
    var streams = documented
    streams.append(frames.flatMap(\.encoded))
    var seeds: [Seed] = []
    for (index, stream) in streams.enumerated() {
        seeds.append(Seed("stream\(index)-whole", [0, 0] + stream))
        seeds.append(Seed("stream\(index)-chunked", [0, 3, 1, 0, 5] + stream))
        seeds.append(Seed("stream\(index)-tight", [1, 2, 2, 7] + stream))
    }
    return seeds
}
