import Foundation

/// The admin service's answers as an operator reads them: aligned text tables, or JSON for
/// scripts (keys sorted, so output diffs cleanly). What the `rpcnet` tool prints.
public enum AdminReport {
    /// How to print.
    public enum Format: String, Sendable, CaseIterable {
        /// Aligned columns with a header line.
        case table
        /// One JSON document (one per line for events).
        case json
    }

    /// The members, one per row: name, status, address, incarnation, φ, tags.
    public static func render(_ members: Admin.Members, as format: Format) throws -> String {
        switch format {
        case .json: return try json(members)
        case .table:
            return table(
                header: ["NAME", "STATUS", "ADDRESS", "INCARNATION", "PHI", "TAGS"],
                rows: members.members.map { member in
                    [
                        member.name, member.status, member.address, "\(member.incarnation)",
                        member.phi.map { String(format: "%.2f", $0) } ?? "-", tags(member.tags),
                    ]
                })
        }
    }

    /// The workers, one per row: name, address, load, reported load, tags.
    public static func render(_ workers: Admin.Workers, as format: Format) throws -> String {
        switch format {
        case .json: return try json(workers)
        case .table:
            return table(
                header: ["NAME", "ADDRESS", "LOAD", "REPORTED", "TAGS"],
                rows: workers.workers.map { worker in
                    [
                        worker.name, worker.address, "\(worker.load)", worker.reportedLoad.map { "\($0)" } ?? "-",
                        tags(worker.tags),
                    ]
                })
        }
    }

    /// The counters, one per row.
    public static func render(_ statistics: Admin.Statistics, as format: Format) throws -> String {
        switch format {
        case .json: return try json(statistics)
        case .table:
            var rows = statistics.members.sorted { $0.key < $1.key }.map { ["members \($0.key)", "\($0.value)"] }
            rows += [
                ["gossip sent", "\(statistics.gossipSent)"], ["gossip received", "\(statistics.gossipReceived)"],
            ]
            rows += statistics.gossipDropped.sorted { $0.key < $1.key }.map {
                ["gossip dropped \($0.key)", "\($0.value)"]
            }
            rows += [
                ["probes", "\(statistics.probes)"], ["failed probes", "\(statistics.failedProbes)"],
                ["refutations", "\(statistics.refutations)"], ["local health", "\(statistics.localHealth)"],
            ]
            if let calls = statistics.activeCalls { rows.append(["active calls", "\(calls)"]) }
            return table(header: ["COUNTER", "VALUE"], rows: rows)
        }
    }

    /// One event, as a line: `kind member address status incarnation tags detail`, or JSON.
    public static func render(_ event: Admin.Event, as format: Format) throws -> String {
        switch format {
        case .json: return try json(event)
        case .table:
            let member = event.member.map { "\($0.name) \($0.address) \($0.status) \($0.incarnation) \(tags($0.tags))" }
            return [event.kind, member, event.detail].compactMap { $0 }.joined(separator: " ")
        }
    }

    /// Tags as `k=v` pairs sorted by key, comma-separated; `-` for none.
    static func tags(_ tags: [String: String]) -> String {
        tags.isEmpty ? "-" : tags.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
    }

    private static func table(header: [String], rows: [[String]]) -> String {
        let widths = header.indices.map { column in
            ([header] + rows).map { $0[column].count }.max() ?? 0
        }
        return ([header] + rows).map { row in
            row.enumerated().map { column, cell in
                column == row.count - 1 ? cell : cell.padding(toLength: widths[column], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }.joined(separator: "\n")
    }

    private static func json(_ value: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }
}
