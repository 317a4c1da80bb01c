import Foundation
public import Logging
import RpcNet

/// The example's settings come from environment variables, as in the chapter the example
/// follows (docs: README, "The cluster example").
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

    /// The `host:port` in `name`, or nil when it is unset (see ``address(_:default:)``).
    public static func optionalAddress(_ name: String) throws(ExampleError) -> String? {
        string(name, default: "").isEmpty ? nil : try address(name, default: "")
    }

    /// The `host:port` in `name` (or `fallback`), checked with RpcNet's one address parser so a
    /// mistake is reported naming the variable.
    public static func address(_ name: String, default fallback: String) throws(ExampleError) -> String {
        let value = string(name, default: fallback)
        do {
            _ = try HostAndPort(parsing: value)
        } catch {
            throw ExampleError("\(name): \(error)")
        }
        return value
    }

    /// A number of milliseconds from `name`.
    public static func milliseconds(_ name: String, default fallback: Int) -> Duration {
        .milliseconds(Int(string(name, default: "\(fallback)")) ?? fallback)
    }

    /// How often an idle connection of the example sends a PING (RFC 9000 §10.1.2).
    public static let keepAlive = Duration.milliseconds(300)
    /// How long the example's connections live without hearing their peer: 1.5 s, so a caller
    /// that died stops counting as a worker's load (its stream ends) and as the director's
    /// lease within about 2 s. Five keep-alive PINGs fit in it, so loss does not close a live
    /// connection.
    public static let idleTimeout = Duration.milliseconds(1500)

    /// The directory holding `ca.pem`, `server.pem` and `server-key.pem` (`CERTS_DIR`, default
    /// `certs`, made by `certs/generate.sh`).
    public static var certificates: String { string("CERTS_DIR", default: "certs") }

    /// The log level: `RPCNET_LOG`, else `RUST_LOG` (the chapter's commands set it), else info.
    /// Accepts trace, debug, info, notice, warn(ing), error, critical; a `target=level` list
    /// (RUST_LOG style) takes its last level.
    public static var logLevel: Logger.Level {
        let text = string("RPCNET_LOG", default: string("RUST_LOG", default: "info")).lowercased()
        let last = text.split(separator: ",").last.map { $0.split(separator: "=").last.map(String.init) ?? "" } ?? ""
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

    /// Sets up swift-log on standard error at ``logLevel``; the example's own progress lines go
    /// to standard output.
    public static func bootstrapLogging() {
        let level = logLevel
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

/// A warning line on standard error.
func warn(_ line: String) {
    FileHandle.standardError.write(Data("warning: \(line)\n".utf8))
}

/// Writes a progress line to standard output unbuffered, so a parent process reading the pipe
/// (the demo) sees it at once.
public func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}
