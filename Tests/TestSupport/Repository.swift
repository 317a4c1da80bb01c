import Foundation

/// Where the tests find the repository's files: the project root, the test PKI and the Python
/// environment `make test` creates.
package enum Repository {
    /// The project root (the directory of Package.swift).
    package static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    /// The Python of `.venv`, with aioquic (made by `make test`).
    package static var python: String { "\(root)/.venv/bin/python" }
}
