import Foundation
import FuzzSupport

@testable import RpcNet

/// Seeds: an encoded value of each type the selector byte chooses, and the examples of
/// PROTOCOL.md §8.6 (value trees of other types).
func seedsBinaryCodec() -> [Seed] {
    let point = FuzzPoint(x: -3, y: Int64.max)
    let child = FuzzChild(
        name: "leaf", weight: 7, values: [-1, 300], attributes: ["a": [1, UInt32.max]], kind: .branch, point: point)
    let shapes: [FuzzShape] = [
        .empty, .circle(radius: 5), .polygon([point, point], label: nil), .tagged("t", 9),
        .group([.wrapped(nil), .wrapped(.circle(radius: 1)), .polygon([], label: "p")]),
    ]
    let message = FuzzMessage(
        id: UInt64.max, tiny: -128, short: 1000, word: -70000, wide: Int.min, unsigned: 42, byte: 255, half: 65535,
        flag: true, name: "message", nickname: nil, payload: Data([0, 1, 2]), raw: [9, 8], labels: ["k": "v"],
        scores: [1: -1, 2: 2], children: [child], shape: shapes[4], optionalShape: .tagged("x", 1), level: .low,
        ratio: try! BinaryCodec().decode(BitExactDouble.self, from: BinaryCodec().encode(2.5)),
        fraction: try! BinaryCodec().decode(BitExactFloat.self, from: BinaryCodec().encode(Float.nan)),
        numbered: FuzzNumbered(first: -1, second: "n", third: [FuzzNumbered(first: 2, second: nil, third: [])]))
    let codec = BinaryCodec()
    func seed<T: Encodable>(_ name: String, _ selector: UInt8, _ value: T) -> Seed {
        Seed(name, [selector] + (try! codec.encode(value)))
    }
    var seeds = [
        seed("message", 0, message), seed("children", 2, [child, child]),
        seed("shape-map", 3, ["a": shapes[1], "b": shapes[2]]), seed("child", 4, child),
        seed("no-child", 4, FuzzChild?.none), seed("int8-map", 5, [Int8(-1): [UInt64?.none, 7], 3: []]),
        seed("data", 6, Data(repeating: 0xAB, count: 5)), seed("optional-shapes", 7, [shapes[3], nil]),
    ]
    for (index, shape) in shapes.enumerated() { seeds.append(seed("shape\(index)", 1, shape)) }
    for (index, example) in try! ProtocolDocument.hexBlocks(from: "### 8.6 Examples", to: "\n## ").enumerated() {
        seeds.append(Seed("protocol-example\(index)", [0] + example))
    }
    return seeds
}
