public import Transports

/// Why an ``RPCConfiguration`` cannot be used, naming the setting and the file or text at fault.
public enum RPCConfigurationError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A file the configuration names does not exist.
    case missingFile(setting: String, path: String)
    /// A file exists but cannot be read (a directory, no permission, an I/O error).
    case unreadableFile(setting: String, path: String, reason: String)
    /// A file was read but does not hold what the setting needs (e.g. no PEM private key).
    case invalidContents(setting: String, path: String, expected: String)
    /// An address setting does not parse or does not resolve (see ``/Transports/AddressError``).
    case badAddress(setting: String, AddressError)
    /// A setting is out of range or missing for the role.
    case invalidSetting(setting: String, reason: String)
    /// GnuTLS or the transport refused the settings (for instance a key that does not match the
    /// certificate).
    case rejectedByTransport(String)

    public var description: String {
        switch self {
        case .missingFile(let setting, let path): "\(setting): no file at \(path)"
        case .unreadableFile(let setting, let path, let reason): "\(setting): cannot read \(path): \(reason)"
        case .invalidContents(let setting, let path, let expected): "\(setting): \(path) holds no \(expected)"
        case .badAddress(let setting, let error): "\(setting): \(error)"
        case .invalidSetting(let setting, let reason): "\(setting): \(reason)"
        case .rejectedByTransport(let reason): "rejected by the transport: \(reason)"
        }
    }
}
