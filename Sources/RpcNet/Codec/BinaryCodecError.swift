/// Why bytes do not decode with ``BinaryCodec``, or a value does not encode.
///
/// Every case names where in the value it happened as a coding path such as `history[2].text`
/// (empty for the top-level value).
public enum BinaryCodecError: Error, Equatable, Sendable {
    /// The bytes are not a well-formed value (docs/PROTOCOL.md §8): an unknown tag, a number or
    /// length running past the end, a repeated record key, nesting deeper than 64, trailing bytes.
    case malformed(String)
    /// A record lacks a field the type requires. Decoding a message of another type usually ends
    /// here: its fields have other names.
    case missingField(String, path: String)
    /// The value has another kind than the type expects (a string where a number belongs, a
    /// number out of the type's range, a list where a record belongs).
    case typeMismatch(String, path: String)
    /// An enum was sent a case it does not declare (a newer peer's case, or another type).
    case unknownCase(String, type: String, path: String)
    /// The type rejected a well-formed value: a raw value no case has, or a check of its own.
    case invalidValue(String, path: String)
}

extension BinaryCodecError: CustomStringConvertible {
    public var description: String {
        switch self {
        case .malformed(let reason): "malformed message: \(reason)"
        case .missingField(let field, let path): "missing field \(field)\(Self.at(path))"
        case .typeMismatch(let reason, let path): "\(reason)\(Self.at(path))"
        case .unknownCase(let name, let type, let path): "unknown case \(name) of \(type)\(Self.at(path))"
        case .invalidValue(let reason, let path): "invalid value\(Self.at(path)): \(reason)"
        }
    }

    private static func at(_ path: String) -> String { path.isEmpty ? "" : " at \(path)" }
}

/// A coding path as people read it: keys joined by dots, list positions in brackets.
func describe(_ codingPath: [any CodingKey]) -> String {
    var text = ""
    for key in codingPath {
        if key is BinaryIndexKey, let index = key.intValue {
            text += "[\(index)]"
        } else {
            text += text.isEmpty ? key.stringValue : ".\(key.stringValue)"
        }
    }
    return text
}

/// The coding-path entry of a list element, so errors say which element failed.
struct BinaryIndexKey: CodingKey {
    let intValue: Int?
    var stringValue: String { "\(intValue ?? 0)" }

    init(_ index: Int) { intValue = index }
    init?(stringValue: String) { nil }
    init?(intValue: Int) { self.intValue = intValue }
}
