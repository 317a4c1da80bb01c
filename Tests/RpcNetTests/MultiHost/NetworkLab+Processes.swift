import ClusterExample
import Foundation

/// Processes inside a lab's hosts: `ip netns exec <namespace> <command>`, which execs the command
/// in place, so the ``ChildProcess`` is the command itself (a signal to it reaches the command).
extension NetworkLab {
    /// Starts `command` (an absolute path or a name looked up in `PATH`, then its arguments) on
    /// `host`, with `environment` added to this process's, its output lines captured under
    /// `name` (and handed to `onLine`). It is killed at `timeLimit` if still running, and at the
    /// lab's teardown.
    @discardableResult
    func start(
        _ name: String, on host: String, command: [String], environment: [String: String] = [:],
        timeLimit: Duration = .seconds(90), onLine: (@Sendable (String) -> Void)? = nil
    ) throws -> ChildProcess {
        let namespace = try self[host].namespace
        return try state.withLock { state in
            guard !state.tornDown else { throw LabError(description: "the lab has been torn down") }
            let child = try ChildProcess(
                "\(name)@\(host)", executable: tools.ip, arguments: ["netns", "exec", namespace] + command,
                environment: environment, onLine: onLine)
            state.children.append(child)
            state.watchdogs.append(
                Task {
                    guard (try? await Task.sleep(for: timeLimit)) != nil, child.isRunning else { return }
                    print("NetworkLab: \(child.name) still ran after \(timeLimit): killed")
                    child.signal(SIGKILL)
                })
            return child
        }
    }

    /// Starts one of the cluster example's binaries (`director`, `worker`, `client`, built beside
    /// the tests) on `host`, with the lab's certificates (`CERTS_DIR`) and `environment`.
    @discardableResult
    func startExample(
        _ executable: String, on host: String, environment: [String: String], timeLimit: Duration = .seconds(90)
    ) throws -> ChildProcess {
        try start(
            executable, on: host, command: [ChildProcess.sibling(executable).path],
            environment: environment.merging(["CERTS_DIR": certificates.path]) { $1 }, timeLimit: timeLimit)
    }
}
