import Foundation
import Glibc

/// CPU time (user + system) and context switches of the whole process, client and server
/// together, so a figure can be reported per operation.
struct ProcessUsage {
    var cpu: Duration
    var contextSwitches: Int

    static var now: ProcessUsage {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        func duration(_ time: timeval) -> Duration {
            .seconds(Int64(time.tv_sec)) + .microseconds(Int64(time.tv_usec))
        }
        return ProcessUsage(
            cpu: duration(usage.ru_utime) + duration(usage.ru_stime),
            contextSwitches: usage.ru_nvcsw + usage.ru_nivcsw)
    }

    static let zero = ProcessUsage(cpu: .zero, contextSwitches: 0)

    /// What was used between `start` and `end`.
    static func - (end: ProcessUsage, start: ProcessUsage) -> ProcessUsage {
        ProcessUsage(cpu: end.cpu - start.cpu, contextSwitches: end.contextSwitches - start.contextSwitches)
    }

    static func + (lhs: ProcessUsage, rhs: ProcessUsage) -> ProcessUsage {
        ProcessUsage(cpu: lhs.cpu + rhs.cpu, contextSwitches: lhs.contextSwitches + rhs.contextSwitches)
    }

    /// The CPU time, in microseconds.
    var cpuMicroseconds: Double {
        Double(cpu.components.seconds) * 1e6 + Double(cpu.components.attoseconds) / 1e12
    }

    /// "CPU x µs, y context switches per op" for this usage spread over `operations`.
    func perOperation(_ operations: Int) -> String {
        let micros = cpuMicroseconds
        return String(
            format: "CPU %.1f µs, %.2f context switches per op", micros / Double(max(operations, 1)),
            Double(contextSwitches) / Double(max(operations, 1)))
    }

    /// The same for what was used since `start`.
    static func perOperation(since start: ProcessUsage, operations: Int) -> String {
        (ProcessUsage.now - start).perOperation(operations)
    }
}

/// Latency samples in microseconds.
struct Samples {
    private var values: [Double] = []

    mutating func add(_ duration: Duration) {
        values.append(Double(duration.components.seconds) * 1e6 + Double(duration.components.attoseconds) / 1e12)
    }

    func percentile(_ fraction: Double) -> Double {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return .nan }
        return sorted[min(sorted.count - 1, Int(Double(sorted.count) * fraction))]
    }
}

extension Duration {
    var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}

/// "name   p50 x µs   p99 y µs", laid out as RpcNet's benchmark lays out its rows.
func row(_ name: String, _ samples: Samples) -> String {
    String(
        format: "%@ p50 %8.1f µs   p99 %8.1f µs", name.padding(toLength: 62, withPad: " ", startingAt: 0),
        samples.percentile(0.5), samples.percentile(0.99))
}

func machineDescription() -> String {
    let cpu =
        (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))?
        .split(separator: "\n").first { $0.hasPrefix("model name") }?
        .split(separator: ":").last?.trimmingCharacters(in: .whitespaces) ?? "unknown CPU"
    return
        "\(ProcessInfo.processInfo.activeProcessorCount) × \(cpu), Linux \(ProcessInfo.processInfo.operatingSystemVersionString)"
}

/// Prints a line unbuffered, so progress shows while later measurements run.
func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

/// Prints "result KEY VALUE", the line Benchmarks/Compare/bench-compare.py reads.
func result(_ key: String, _ value: Double) {
    say(String(format: "result %@ %.1f", key, value))
}
