import Foundation
public import Logging

/// The example's settings come from environment variables, as in the chapter the example
/// follows (docs: README, "The cluster example").
public enum ExampleEnvironment {
    /// The value of `name`, or `fallback` when it is unset or empty.
    public static func string(_ name: String, default fallback: String) -> String {
        guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else { return fallback }
        return value
    }

    /// Whether `name` is set to a true value (`1`, `true`, `yes`, `on`).
    public static func flag(_ name: String) -> Bool {
        ["1", "true", "yes", "on"].contains(string(name, default: "false").lowercased())
    }

    /// A number of milliseconds from `name`.
    public static func milliseconds(_ name: String, default fallback: Int) -> Duration {
        .milliseconds(Int(string(name, default: "\(fallback)")) ?? fallback)
    }

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
        default: return .info
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

/// Writes a progress line to standard output unbuffered, so a parent process reading the pipe
/// (the demo) sees it at once.
public func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}
