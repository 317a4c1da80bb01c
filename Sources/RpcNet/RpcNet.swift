@_exported public import Transports
