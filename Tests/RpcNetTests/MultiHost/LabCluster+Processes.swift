import ClusterExample
import Foundation

/// Starting the example's processes one at a time, for scenarios that stop and start them: the
/// director (again, at the same address) and workers under any label.
extension LabCluster {
    /// The settings every director and worker of a cluster whose director is at `directorAddress`
    /// gets.
    static func environment(directorAddress: String) -> [String: String] {
        common.merging(["DIRECTOR_ADDR": directorAddress]) { $1 }
    }

    /// Starts a director on the host called `director`, serving at `address`, and waits for its
    /// `Director ready`; throws if it does not print it within 15 s.
    static func startDirector(in lab: NetworkLab, at address: String) async throws -> ChildProcess {
        let director = try lab.startExample(
            "director", on: "director", environment: environment(directorAddress: address))
        guard try await director.shows("Director ready", within: .seconds(15)) else {
            throw LabError(description: "the director did not start:\n\(director.output)")
        }
        return director
    }

    /// Starts a worker labelled `label` on `host`, serving at the host's address and
    /// ``workerPort``, with the director at `directorAddress` as its seed. Does not wait.
    static func startWorker(
        in lab: NetworkLab, on host: String, label: String, directorAddress: String
    ) throws -> ChildProcess {
        try lab.startExample(
            "worker", on: host,
            environment: environment(directorAddress: directorAddress).merging([
                "WORKER_LABEL": label, "WORKER_ADDR": try lab[host].endpoint(port: workerPort),
            ]) { $1 })
    }

    /// Starts a new director at this cluster's director address (after the first one was
    /// stopped) and waits for its `Director ready`.
    func restartDirector() async throws -> ChildProcess {
        try await Self.startDirector(in: lab, at: directorAddress)
    }

    /// Starts another worker labelled `label` on `host`, joining this cluster's director.
    func startWorker(on host: String, label: String) throws -> ChildProcess {
        try Self.startWorker(in: lab, on: host, label: label, directorAddress: directorAddress)
    }

    /// Every worker's output under its label, for failure messages.
    var workerOutputs: String {
        workers.sorted { $0.key < $1.key }.map { "\($0.key):\n\($0.value.output)" }.joined(separator: "\n")
    }
}
