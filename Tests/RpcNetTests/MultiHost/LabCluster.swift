import ClusterExample
import Foundation

/// The cluster example (Examples/Cluster) spread over a lab: the director on the host called
/// `director`, one worker per worker host (labelled with the host's name), clients on others,
/// each bound to its own host's address.
struct LabCluster {
    /// The director's port on its host.
    static let directorPort = 61000
    /// Every worker's port on its own host (the hosts differ, so the port can be the same).
    static let workerPort = 62001
    /// What every process of the example gets: a token every 20 ms, quiet logs.
    static let common = ["TOKEN_INTERVAL_MS": "20", "RPCNET_LOG": "error"]

    let lab: NetworkLab
    /// The director's process.
    let director: ChildProcess
    /// The workers' processes, by label (= host name).
    let workers: [String: ChildProcess]
    /// Where the director serves: `DIRECTOR_ADDR` for the others.
    let directorAddress: String

    /// Starts the director and a worker on each of `workerHosts`, and waits until the director
    /// counts them all in its pool; throws if it does not within 20 s.
    static func start(in lab: NetworkLab, workerHosts: [String]) async throws -> LabCluster {
        let directorAddress = try lab["director"].endpoint(port: directorPort)
        let director = try await startDirector(in: lab, at: directorAddress)
        var workers: [String: ChildProcess] = [:]
        for host in workerHosts {
            workers[host] = try startWorker(in: lab, on: host, label: host, directorAddress: directorAddress)
        }
        guard try await director.shows("\(workerHosts.count) workers available", within: .seconds(20)) else {
            let outputs = workers.map { "\($0.key):\n\($0.value.output)" }.joined(separator: "\n")
            throw LabError(
                description: "the director did not see \(workerHosts.count) workers:\n\(director.output)\n\(outputs)")
        }
        return LabCluster(lab: lab, director: director, workers: workers, directorAddress: directorAddress)
    }

    /// Starts a client on `host` that streams `tokens` tokens and exits, giving up on a worker
    /// after `stallMilliseconds` without a token.
    func startClient(on host: String, tokens: Int, stallMilliseconds: Int = 500) throws -> ChildProcess {
        try lab.startExample(
            "client", on: host,
            environment: Self.common.merging([
                "DIRECTOR_ADDR": directorAddress, "TOKEN_LIMIT": "\(tokens)",
                "TOKEN_STALL_MS": "\(stallMilliseconds)",
            ]) { $1 })
    }

    /// The label of the worker the client was last assigned (from its `director assigned
    /// worker - … (worker-a at …)` line), if any.
    func assignedWorker(of client: ChildProcess) -> String? {
        guard let line = client.all(where: { $0.contains("director assigned worker") }).last?.text else { return nil }
        return workers.keys.first { line.contains("(\($0) at ") }
    }
}
