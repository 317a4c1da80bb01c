import ArgumentParser
import ClusterExample
import RpcNet

#if !Executables
    #error("the examples and rpcnet-bench need the package trait Executables: swift build --traits Executables")
#endif

/// The worker's settings: flags, each defaulting to the environment variable the chapter uses.
struct WorkerOptions: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "The cluster example's worker: joins through the director and streams tokens.")

    @Option(help: "Its member name and label tag, unique in the cluster (env WORKER_LABEL).")
    var label = ExampleEnvironment.string("WORKER_LABEL", default: "worker-1")

    @Option(help: "Address to bind, host:port (env WORKER_ADDR).")
    var address = ExampleEnvironment.string("WORKER_ADDR", default: "127.0.0.1:62001")

    @Option(
        help:
            "Address to announce when it differs from --address; default: for a 0.0.0.0 bind, the address that routes to the director (env WORKER_ADVERTISE)."
    )
    var advertise = ExampleEnvironment.string("WORKER_ADVERTISE", default: "")

    @Option(help: "The director's address, its seed (env DIRECTOR_ADDR).")
    var director = ExampleEnvironment.string("DIRECTOR_ADDR", default: "127.0.0.1:61000")

    @Option(
        name: .customLong("tag"),
        help: "An extra tag key=value, e.g. gpu=true; repeatable (env WORKER_TAGS, comma-separated).")
    var tags: [String] = ExampleEnvironment.string("WORKER_TAGS", default: "").split(separator: ",").map(String.init)

    @Flag(
        name: .customLong("failure"), inversion: .prefixedNo,
        help: "Fail on a cycle and recover (env WORKER_FAILURE_ENABLED).")
    var failureEnabled = ExampleEnvironment.flag("WORKER_FAILURE_ENABLED")

    @Option(help: "Milliseconds running in each failure cycle (env WORKER_FAILURE_RUN_MS).")
    var failureRunMs = ExampleEnvironment.number("WORKER_FAILURE_RUN_MS", default: 10_000)

    @Option(help: "Milliseconds failed in each failure cycle (env WORKER_FAILURE_DOWN_MS).")
    var failureDownMs = ExampleEnvironment.number("WORKER_FAILURE_DOWN_MS", default: 5_000)

    @Option(help: "Milliseconds between tokens (env TOKEN_INTERVAL_MS).")
    var tokenIntervalMs = ExampleEnvironment.number("TOKEN_INTERVAL_MS", default: 100)

    @OptionGroup var common: CommonOptions
}
