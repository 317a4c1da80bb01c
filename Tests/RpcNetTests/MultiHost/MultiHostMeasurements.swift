import ClusterExample
import Foundation
import Testing

extension MultiHostTests {
    /// Repeated runs of the scenarios for medians, printed as `MEASURE … median …` lines. Long, so
    /// they run only when asked for, never in `make test`:
    ///
    ///     RPCNET_MEASURE=1 swift test --skip-build --disable-xctest -c release -Xswiftc -enable-testing \
    ///         --scratch-path .build-tests --filter MultiHostMeasurements 2>&1 | grep MEASURE
    ///
    /// `RPCNET_MEASURE_RUNS` sets the runs per measurement (default 5), `RPCNET_MEASURE_LOSS` the
    /// loss percentages of the token-gap runs (default `0,5,10`).
    @Suite(
        "Cluster example across hosts: measurements", .serialized,
        .enabled(if: LabMeasurements.requested, "set RPCNET_MEASURE=1 to run the measurements"))
    struct MultiHostMeasurements {
        /// Runs per measurement.
        static var runs: Int {
            Int(ProcessInfo.processInfo.environment["RPCNET_MEASURE_RUNS"] ?? "") ?? 5
        }

        /// The loss percentages of the token-gap runs.
        static var lossPercentages: [Int] {
            let text = ProcessInfo.processInfo.environment["RPCNET_MEASURE_LOSS"] ?? "0,5,10"
            return text.split(separator: ",").compactMap { Int($0) }.filter { (0...100).contains($0) }
        }

        @Test("director restart reassembly, SIGINT and kill -9", .timeLimit(.minutes(10)))
        func directorRestart() async throws {
            for (name, signal) in [("sigint", SIGINT), ("kill9", SIGKILL)] {
                var values: [Double?] = []
                for _ in 0..<Self.runs {
                    let seconds = try await ClusterScenarios.directorRestart(stopping: signal, clientTokens: 0)
                    if let seconds { LabMeasurements.report("director-restart-\(name)-reassembly", seconds) }
                    values.append(seconds)
                }
                LabMeasurements.reportMedian("director-restart-\(name)-reassembly", values)
            }
        }

        @Test("client token gap across kill -9 of its worker at 0, 5 and 10 % loss", .timeLimit(.minutes(10)))
        func workerKillGap() async throws {
            for percent in Self.lossPercentages {
                let name = "worker-kill9-token-gap-loss\(percent)"
                var values: [Double?] = []
                for _ in 0..<Self.runs {
                    let gap = try await ClusterScenarios.workerKillGap(loss: Double(percent) / 100)
                    if let gap { LabMeasurements.report(name, gap) }
                    values.append(gap)
                }
                LabMeasurements.reportMedian(name, values)
            }
        }
    }
}
