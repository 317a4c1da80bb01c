import Glibc

/// CPU time and context switches of the whole process, so a figure can be reported per
/// operation: steadier than wall-clock latency on a noisy machine, because it does not count
/// time spent waiting for the other core.
struct ProcessUsage {
    let cpu: Duration
    let contextSwitches: Int

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

    /// Microseconds of CPU per operation used since `start` over `operations`.
    static func cpuMicroseconds(since start: ProcessUsage, operations: Int) -> Double {
        Double((ProcessUsage.now.cpu - start.cpu).nanoseconds) / 1000 / Double(max(operations, 1))
    }

    /// "CPU x µs, y context switches per op" for what was used since `start` over `operations`.
    static func perOperation(since start: ProcessUsage, operations: Int) -> String {
        let end = ProcessUsage.now
        let micros = cpuMicroseconds(since: start, operations: operations)
        let switches = Double(end.contextSwitches - start.contextSwitches) / Double(max(operations, 1))
        return String(format: "CPU %.1f µs, %.2f context switches per op", micros, switches)
    }
}
