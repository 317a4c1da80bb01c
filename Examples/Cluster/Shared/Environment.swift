import Foundation
public import Logging
import RpcNet
import Synchronization

/// Where the example's settings come from when no flag gives them: environment variables, as
/// in the chapter the example follows (docs: README, "The cluster example"). Every flag's
/// default is read here, so `--help` shows the value in force.
public enum ExampleEnvironment {
    /// The value of `name`, or `fallback` when it is unset or empty.
    public static func string(_ name: String, default fallback: String) -> String {
        guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else { return fallback }
        return value
    }

    /// Whether `name` is set to a true value (`1`, `true`, `yes`, `on`); any other value than
    /// a false one (`0`, `false`, `no`, `off`) is warned about and taken as false.
    public static func flag(_ name: String) -> Bool {
        let value = string(name, default: "false").lowercased()
        if ["1", "true", "yes", "on"].contains(value) { return true }
        if !["0", "false", "no", "off"].contains(value) {
            warn("\(name)=\(value) is not understood (use true or false); taking false")
        }
        return false
    }

    /// The number in `name`, or `fallback`; a value that is not a number is warned about.
    public static func number(_ name: String, default fallback: Int) -> Int {
        let text = string(name, default: "\(fallback)")
        guard let value = Int(text), value >= 0 else {
            warn("\(name)=\(text) is not a number; taking \(fallback)")
            return fallback
        }
        return value
    }

    /// How often an idle connection of the example sends a PING (RFC 9000 §10.1.2).
    public static let keepAlive = Duration.milliseconds(300)
    /// How long the example's connections live without hearing their peer: 1.5 s, so a caller
    /// that died stops counting as a worker's load (its stream ends) and as the director's
    /// lease within about 2 s. Five keep-alive PINGs fit in it, so loss does not close a live
    /// connection.
    public static let idleTimeout = Duration.milliseconds(1500)

    /// `text` checked with RpcNet's one address parser, so a mistake is reported naming the
    /// setting.
    public static func checked(address text: String, setting: String) throws(ExampleError) -> String {
        do {
            _ = try HostAndPort(parsing: text)
        } catch {
            throw ExampleError("\(setting): \(error)")
        }
        return text
    }

    /// A log level from its name: trace, debug, info, notice, warn(ing), error, critical; a
    /// `target=level` list (RUST_LOG style) takes its last level. A name not understood is
    /// warned about and taken as info.
    public static func logLevel(_ text: String) -> Logger.Level {
        let last =
            text.lowercased().split(separator: ",").last.map { $0.split(separator: "=").last.map(String.init) ?? "" }
            ?? ""
        switch last {
        case "trace": return .trace
        case "debug": return .debug
        case "notice": return .notice
        case "warn", "warning": return .warning
        case "error": return .error
        case "critical", "off": return .critical
        case "info": return .info
        default:
            warn("log level '\(last)' is not understood (use trace, debug, info, warn, error); using info")
            return .info
        }
    }

    /// Sets up swift-log on standard error at `level`; the example's own progress lines go to
    /// standard output.
    public static func bootstrapLogging(_ level: Logger.Level) {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }
}

/// A mistake in the example's settings or surroundings, in one line naming the setting and value.
public struct ExampleError: Error, CustomStringConvertible {
    public let description: String

    public init(_ description: String) {
        self.description = description
    }
}

/// Runs `body`; an error ends the process with one line on standard error and exit status 1 —
/// never a backtrace.
public func orExit<T>(_ body: () async throws -> T) async -> T {
    do {
        return try await body()
    } catch {
        FileHandle.standardError.write(Data("error: \(error)\n".utf8))
        exit(1)
    }
}

/// Warnings already given: flag defaults are read each time the argument parser builds its
/// options, and each warning is worth one line.
private let warned = Mutex<Set<String>>([])

/// A warning line on standard error, once per process.
func warn(_ line: String) {
    guard warned.withLock({ $0.insert(line).inserted }) else { return }
    FileHandle.standardError.write(Data("warning: \(line)\n".utf8))
}

/// Writes a progress line to standard output unbuffered, so a parent process reading the pipe
/// (the demo) sees it at once.
public func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}
