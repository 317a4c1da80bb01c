/// An error a service defines and its callers handle by type: thrown by a typed handler, it
/// travels in the trailer's error details with ``statusCode``, and a caller that names the type
/// gets it back as that type. Details are always JSON, whatever the call's codec, so that callers
/// in any language can read them.
public protocol ServiceError: Error, Codable, Sendable {
    /// The status the call fails with; ``RPCStatus/Code-swift.struct/failedPrecondition`` by default.
    var statusCode: RPCStatus.Code { get }
}

extension ServiceError {
    public var statusCode: RPCStatus.Code { .failedPrecondition }
}

extension RPCStatus {
    /// The status carrying `error` in its details.
    init(serviceError error: some ServiceError) {
        let details = (try? JSONCodec().encode(error)) ?? []
        self.init(code: error.statusCode, message: "\(error)", details: details)
    }
}

/// Runs a typed handler body, turning decode failures and service errors into statuses.
func typedCall<Result>(_ body: () async throws -> Result) async throws -> Result {
    do {
        return try await body()
    } catch let error as any ServiceError {
        throw RPCStatus(serviceError: error)
    }
}
