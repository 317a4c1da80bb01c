import Foundation

/// What the multi-host scenarios measure, printed as `MEASURE <name> <seconds>` lines so a run's
/// output can be grepped for them (`swift test … | grep MEASURE`).
enum LabMeasurements {
    /// Whether the long measuring runs are asked for (`RPCNET_MEASURE=1`): they repeat scenarios
    /// for medians and are kept out of `make test`.
    static var requested: Bool { ProcessInfo.processInfo.environment["RPCNET_MEASURE"] == "1" }

    /// Prints one measurement.
    static func report(_ name: String, _ seconds: Double) {
        print("MEASURE \(name) \(String(format: "%.3f", seconds))")
    }

    /// Prints the median of `values` with every value, and how many runs measured nothing.
    static func reportMedian(_ name: String, _ values: [Double?]) {
        let measured = values.compactMap { $0 }
        let runs = measured.map { String(format: "%.3f", $0) }.joined(separator: " ")
        let median = Self.median(measured).map { String(format: "%.3f", $0) } ?? "none"
        print("MEASURE \(name) median \(median) over \(measured.count) of \(values.count) runs: \(runs)")
    }

    /// The median of `values`; nil if there are none.
    static func median(_ values: [Double]) -> Double? {
        guard !values.isEmpty else { return nil }
        let sorted = values.sorted()
        let middle = sorted.count / 2
        return sorted.count.isMultiple(of: 2) ? (sorted[middle - 1] + sorted[middle]) / 2 : sorted[middle]
    }
}
