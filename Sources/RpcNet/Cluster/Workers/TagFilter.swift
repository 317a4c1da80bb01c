import Foundation

/// Tag filters written as text, `key=value` pairs separated by commas (`gpu=true,zone=eu-1`), as
/// operators type them in configuration and on command lines.
public enum TagFilter {
    /// The pairs of `text`; an empty or blank text is the empty filter (any worker).
    public static func parse(_ text: String) throws(ClusterClientError) -> [String: String] {
        var filter: [String: String] = [:]
        for part in text.split(separator: ",") {
            let pair = part.trimmingCharacters(in: .whitespaces)
            guard !pair.isEmpty else { continue }
            let sides = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard sides.count == 2, !sides[0].isEmpty else { throw .invalidFilter(text) }
            guard filter.updateValue(String(sides[1]), forKey: String(sides[0])) == nil else {
                throw .invalidFilter(text)
            }
        }
        return filter
    }

    /// `tags` as text ``parse(_:)`` reads back: `key=value` pairs in key order, separated by
    /// commas (`label=gpu-a,role=worker`); empty for no tags. How logs and tools print tags.
    public static func format(_ tags: [String: String]) -> String {
        tags.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
    }
}
