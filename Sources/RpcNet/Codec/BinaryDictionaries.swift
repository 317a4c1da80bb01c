// Dictionaries encode as keyed containers whose keys are data, which positional keyed containers
// would drop: they travel as alternating key and value entries instead.

protocol BinaryEncodableDictionary {
    func encodeEntries(into list: BinarySlot, codingPath: [any CodingKey]) throws
}

extension Dictionary: BinaryEncodableDictionary where Key: Encodable, Value: Encodable {
    func encodeEntries(into list: BinarySlot, codingPath: [any CodingKey]) throws {
        for (key, value) in self {
            try encodeValue(key, into: list.appendSlot(), codingPath: codingPath)
            try encodeValue(value, into: list.appendSlot(), codingPath: codingPath)
        }
    }
}

protocol BinaryDecodableDictionary {
    init(entries: [BinaryValue], codingPath: [any CodingKey]) throws
}

extension Dictionary: BinaryDecodableDictionary where Key: Decodable, Value: Decodable {
    init(entries: [BinaryValue], codingPath: [any CodingKey]) throws {
        guard entries.count % 2 == 0 else {
            throw BinaryCodecError.malformed("dictionary with an odd number of entries")
        }
        self.init(minimumCapacity: entries.count / 2)
        for index in stride(from: 0, to: entries.count, by: 2) {
            let key = try decodeValue(Key.self, from: entries[index], codingPath: codingPath)
            guard
                self.updateValue(
                    try decodeValue(Value.self, from: entries[index + 1], codingPath: codingPath), forKey: key) == nil
            else {
                throw BinaryCodecError.malformed("duplicate dictionary key")
            }
        }
    }
}
