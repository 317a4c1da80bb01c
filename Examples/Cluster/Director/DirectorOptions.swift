import ArgumentParser
import ClusterExample
import RpcNet

#if !Executables
    #error("the examples and rpcnet-bench need the package trait Executables: swift build --traits Executables")
#endif

/// The director's settings: flags, each defaulting to the environment variable the chapter uses.
struct DirectorOptions: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "director",
        abstract: "The cluster example's director: finds workers by gossip and hands one to each client.")

    @Option(help: "Address to bind, host:port (env DIRECTOR_ADDR).")
    var address = ExampleEnvironment.string("DIRECTOR_ADDR", default: "127.0.0.1:61000")

    @Option(
        help:
            "Address to announce to the cluster when it differs from --address, e.g. for 0.0.0.0 (env DIRECTOR_ADVERTISE)."
    )
    var advertise = ExampleEnvironment.string("DIRECTOR_ADVERTISE", default: "")

    @Option(
        help:
            "How a worker is chosen: \(LoadBalancingStrategy.allValueStrings.joined(separator: ", ")) (env DIRECTOR_STRATEGY)."
    )
    var strategy =
        LoadBalancingStrategy(rawValue: ExampleEnvironment.string("DIRECTOR_STRATEGY", default: "leastConnections"))
        ?? .leastConnections

    @Option(
        help:
            "Serve the admin service (rpcnet members/workers/stats/events) to callers with the cluster key or a client certificate with this name; empty: off (env DIRECTOR_ADMIN)."
    )
    var admin = ExampleEnvironment.string("DIRECTOR_ADMIN", default: "")

    @OptionGroup var common: CommonOptions
}
