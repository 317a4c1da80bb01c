public import Foundation
import Synchronization

/// One of the example's processes, started by the demo or by a test: its output lines are kept
/// with the instant each arrived (and handed to `onLine`), so the caller can wait for them and
/// time them.
public final class ChildProcess: Sendable {
    /// A name for messages.
    public let name: String
    private let process: Process
    private let lines = Mutex<[(at: UInt64, text: String)]>([])

    /// Starts `executable` with `arguments`, in `directory`, with `environment` added to this
    /// process's. An absolute path is run as it is; any other name is looked for beside
    /// `CommandLine.arguments[0]` (``sibling(_:)``: the example's binaries are built side by side).
    public init(
        _ name: String, executable: String, arguments: [String] = [], environment: [String: String],
        directory: URL? = nil, onLine: (@Sendable (String) -> Void)? = nil
    ) throws {
        self.name = name
        process = Process()
        process.executableURL = executable.hasPrefix("/") ? URL(fileURLWithPath: executable) : Self.sibling(executable)
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = directory }
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
                    onLine?(text)
                }
            }
        }
    }

    /// Where the binary `executable` built beside this process's own is.
    public static func sibling(_ executable: String) -> URL {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent(executable)
    }

    public var isRunning: Bool { process.isRunning }
    public var exitStatus: Int32? { process.isRunning ? nil : process.terminationStatus }

    /// Every line so far, joined.
    public var output: String { lines.withLock { $0.map(\.text).joined(separator: "\n") } }

    /// When the first line matching `predicate` after `since` (uptime nanoseconds) arrived,
    /// with the line.
    public func first(after since: UInt64 = 0, where predicate: (String) -> Bool) -> (at: UInt64, text: String)? {
        lines.withLock { lines in lines.first { $0.at >= since && predicate($0.text) } }
    }

    /// Every line matching `predicate`.
    public func all(where predicate: (String) -> Bool) -> [(at: UInt64, text: String)] {
        lines.withLock { lines in lines.filter { predicate($0.text) } }
    }

    public func signal(_ number: Int32) {
        if process.isRunning { kill(process.processIdentifier, number) }
    }

    /// Asks the process to stop (SIGTERM: workers and the director leave the cluster first),
    /// then kills it if it is still running after `grace`.
    public func stop(grace: Duration = .seconds(2)) {
        signal(SIGTERM)
        let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(grace.components.seconds) * 1_000_000_000
        while process.isRunning, DispatchTime.now().uptimeNanoseconds < deadline { usleep(20_000) }
        signal(SIGKILL)
        process.waitUntilExit()
    }

    public func waitUntilExit() {
        process.waitUntilExit()
    }
}
