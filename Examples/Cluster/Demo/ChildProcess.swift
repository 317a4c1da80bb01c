import Foundation
import Synchronization

/// One of the example's processes, started by the demo: its output lines are echoed with its
/// name and kept with the instant each arrived, so the demo can wait for them and time them.
final class ChildProcess: Sendable {
    let name: String
    private let process: Process
    private let lines = Mutex<[(at: UInt64, text: String)]>([])

    /// Starts `executable` (a sibling of the demo's own binary) with extra `environment`.
    init(_ name: String, executable: String, environment: [String: String], echo: Bool = true) throws {
        self.name = name
        process = Process()
        process.executableURL = URL(fileURLWithPath: CommandLine.arguments[0])
            .deletingLastPathComponent().appendingPathComponent(executable)
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let handle = output.fileHandleForReading
        Thread.detachNewThread { [self] in
            var pending = Data()
            // availableData returns what the pipe holds now (read(upToCount:) would wait to fill).
            while case let chunk = handle.availableData, !chunk.isEmpty {
                pending.append(chunk)
                while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                    let text = String(decoding: pending[..<newline], as: UTF8.self)
                    pending.removeSubrange(...newline)
                    let now = DispatchTime.now().uptimeNanoseconds
                    lines.withLock { $0.append((now, text)) }
                    if echo { Demo.print("  \(name.padding(toLength: 9, withPad: " ", startingAt: 0))│ \(text)") }
                }
            }
        }
    }

    var isRunning: Bool { process.isRunning }
    var exitStatus: Int32? { process.isRunning ? nil : process.terminationStatus }

    /// When the first line matching `predicate` after `since` arrived, with the line.
    func first(after since: UInt64 = 0, where predicate: (String) -> Bool) -> (at: UInt64, text: String)? {
        lines.withLock { lines in lines.first { $0.at >= since && predicate($0.text) } }
    }

    /// Every line matching `predicate`.
    func all(where predicate: (String) -> Bool) -> [(at: UInt64, text: String)] {
        lines.withLock { lines in lines.filter { predicate($0.text) } }
    }

    func signal(_ number: Int32) {
        if process.isRunning { kill(process.processIdentifier, number) }
    }

    /// Asks the process to stop (SIGTERM: workers and the director leave the cluster first),
    /// then kills it if it is still running after `grace`.
    func stop(grace: Duration = .seconds(2)) {
        signal(SIGTERM)
        let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(grace.components.seconds) * 1_000_000_000
        while process.isRunning, DispatchTime.now().uptimeNanoseconds < deadline { usleep(20_000) }
        signal(SIGKILL)
        process.waitUntilExit()
    }

    func waitUntilExit() {
        process.waitUntilExit()
    }
}
