/// The outcome of a call, carried in its trailer: a code from the same set, with the same
/// numbers, as gRPC's status codes, so operators and tools already know what each means.
public struct RPCStatus: Error, Hashable, Sendable, CustomStringConvertible {
    /// A status code. Unknown numbers from a newer peer are kept as they are.
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public let rawValue: UInt64

        public init(rawValue: UInt64) {
            self.rawValue = rawValue
        }

        /// Success.
        public static let ok = Code(rawValue: 0)
        /// The call was cancelled, usually by the caller.
        public static let cancelled = Code(rawValue: 1)
        /// An error with no better code.
        public static let unknown = Code(rawValue: 2)
        /// The request is malformed or breaks the method's contract.
        public static let invalidArgument = Code(rawValue: 3)
        /// The deadline passed before the call completed.
        public static let deadlineExceeded = Code(rawValue: 4)
        /// A requested entity does not exist.
        public static let notFound = Code(rawValue: 5)
        /// The entity a call tried to create exists already.
        public static let alreadyExists = Code(rawValue: 6)
        /// The caller may not do this.
        public static let permissionDenied = Code(rawValue: 7)
        /// A limit was hit: message size, concurrent calls, quota.
        public static let resourceExhausted = Code(rawValue: 8)
        /// The system is not in a state that allows the call.
        public static let failedPrecondition = Code(rawValue: 9)
        /// The call was aborted, e.g. by a concurrency conflict.
        public static let aborted = Code(rawValue: 10)
        /// A value is outside the valid range.
        public static let outOfRange = Code(rawValue: 11)
        /// The method is not implemented by the server.
        public static let unimplemented = Code(rawValue: 12)
        /// An invariant broke inside the server, or the peer violated the protocol.
        public static let `internal` = Code(rawValue: 13)
        /// The service is unavailable; retrying elsewhere or later may succeed.
        public static let unavailable = Code(rawValue: 14)
        /// Data was lost or corrupted.
        public static let dataLoss = Code(rawValue: 15)
        /// The caller did not authenticate.
        public static let unauthenticated = Code(rawValue: 16)

        public var description: String {
            switch self {
            case .ok: "ok"
            case .cancelled: "cancelled"
            case .unknown: "unknown"
            case .invalidArgument: "invalidArgument"
            case .deadlineExceeded: "deadlineExceeded"
            case .notFound: "notFound"
            case .alreadyExists: "alreadyExists"
            case .permissionDenied: "permissionDenied"
            case .resourceExhausted: "resourceExhausted"
            case .failedPrecondition: "failedPrecondition"
            case .aborted: "aborted"
            case .outOfRange: "outOfRange"
            case .unimplemented: "unimplemented"
            case .internal: "internal"
            case .unavailable: "unavailable"
            case .dataLoss: "dataLoss"
            case .unauthenticated: "unauthenticated"
            default: "code(\(rawValue))"
            }
        }
    }

    /// What happened.
    public var code: Code
    /// A human-readable explanation.
    public var message: String
    /// The service's own encoded error, when the handler threw one (see the typed error layer).
    public var details: [UInt8]

    /// Creates a status.
    public init(code: Code, message: String = "", details: [UInt8] = []) {
        self.code = code
        self.message = message
        self.details = details
    }

    /// Success.
    public static let ok = RPCStatus(code: .ok)

    public var description: String {
        message.isEmpty ? "\(code)" : "\(code): \(message)"
    }
}
