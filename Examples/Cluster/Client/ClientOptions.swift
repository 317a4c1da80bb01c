import ArgumentParser
import ClusterExample

#if !Executables
    #error("the examples and rpcnet-bench need the package trait Executables: swift build --traits Executables")
#endif

/// The client's settings: flags, each defaulting to the environment variable the chapter uses.
struct ClientOptions: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "client",
        abstract: "The cluster example's client: gets a worker from the director and streams tokens, failing over.")

    @Option(help: "The director's address, host:port (env DIRECTOR_ADDR).")
    var director = ExampleEnvironment.string("DIRECTOR_ADDR", default: "127.0.0.1:61000")

    @Option(help: "Tags the worker must carry, key=value[,key=value], e.g. gpu=true (env CLIENT_FILTER).")
    var filter = ExampleEnvironment.string("CLIENT_FILTER", default: "")

    @Option(help: "Stop after this many tokens; 0 streams for ever (env TOKEN_LIMIT).")
    var tokenLimit = ExampleEnvironment.number("TOKEN_LIMIT", default: 0)

    @Option(help: "Milliseconds without a token after which the worker counts as failed (env TOKEN_STALL_MS).")
    var stallMs = ExampleEnvironment.number("TOKEN_STALL_MS", default: 1000)

    @OptionGroup var common: CommonOptions
}
