import Transports

@testable import RpcNet

/// The typed service ``SimulatedWorkers`` also serve, defined with `@RPCService`.
@RPCService(errors: GeneratorError.self)
protocol Generator: Sendable {
    /// The worker's name, after `request.delay` when the worker is `request.slowWorker`.
    @Idempotent
    func identify(_ request: IdentifyRequest) async throws -> String
    /// Tokens `after + 1 … through`, one every 10 ms.
    func tokens(_ request: TokenRange, responses: TypedMessageWriter<GeneratedToken>) async throws
}

struct IdentifyRequest: Codable, Sendable {
    var slowWorker: String?
    var delayMilliseconds = 0
}

struct TokenRange: Codable, Sendable {
    var after: Int
    var through: Int
}

struct GeneratedToken: Codable, Sendable, Equatable {
    var sequence: Int
    var worker: String
}

enum GeneratorError: ServiceError, Equatable {
    /// The worker was told to fail (``SimulatedWorkers/setFailing(_:_:)``).
    case refused(worker: String)

    var statusCode: RPCStatus.Code { .unavailable }
}

/// One simulated worker's implementation.
struct SimulatedGenerator: Generator {
    let name: String
    let clock: any NetworkClock
    let isFailing: @Sendable () -> Bool

    func identify(_ request: IdentifyRequest) async throws -> String {
        guard !isFailing() else { throw GeneratorError.refused(worker: name) }
        if request.slowWorker == name { try await clock.sleep(for: .milliseconds(request.delayMilliseconds)) }
        return name
    }

    func tokens(_ request: TokenRange, responses: TypedMessageWriter<GeneratedToken>) async throws {
        guard request.after < request.through else { return }
        for sequence in (request.after + 1)...request.through {
            try await clock.sleep(for: .milliseconds(10))
            guard !isFailing() else { throw GeneratorError.refused(worker: name) }
            try await responses.send(GeneratedToken(sequence: sequence, worker: name))
        }
    }
}
