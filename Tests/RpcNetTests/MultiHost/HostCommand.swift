import Foundation

/// A short administrative command the network lab runs to completion (`ip`, `iptables`,
/// `certtool`): its output is returned, a failure is thrown with the output in it.
enum HostCommand {
    /// Where system tools live besides `PATH` (`ip` and `iptables` are in sbin, which an
    /// ordinary `PATH` may lack).
    private static let systemDirectories = ["/usr/sbin", "/sbin", "/usr/bin", "/bin"]

    /// The absolute path of `tool`, searched for in `PATH` and the system directories; nil if
    /// it is not installed.
    static func find(_ tool: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH", default: ""].split(separator: ":").map(String.init)
        return (path + systemDirectories).lazy.map { "\($0)/\(tool)" }
            .first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// Runs `executable` (an absolute path) with `arguments` and returns its standard output
    /// and standard error, merged; throws ``HostCommandError`` if it exits with a failure.
    @discardableResult
    static func run(_ executable: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        process.standardInput = FileHandle.nullDevice
        try process.run()
        // Read to the end before waiting, so a chatty command cannot block on a full pipe.
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        guard process.terminationReason == .exit, process.terminationStatus == 0 else {
            throw HostCommandError(
                command: ([executable] + arguments).joined(separator: " "), status: process.terminationStatus,
                output: text)
        }
        return text
    }
}

/// A ``HostCommand`` that failed.
struct HostCommandError: Error, CustomStringConvertible {
    /// The command line.
    let command: String
    /// Its exit status (or the signal that ended it).
    let status: Int32
    /// What it printed.
    let output: String

    var description: String {
        "`\(command)` failed (status \(status)): \(output.trimmingCharacters(in: .whitespacesAndNewlines))"
    }
}
