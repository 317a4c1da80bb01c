import Foundation
import Testing

@testable import Transports

/// Runs a child process to completion, killing it after `limit`; returns (status, stdout, stderr).
func runProcess(_ executable: String, _ arguments: [String], limit: Duration = .seconds(30)) async throws -> (
    Int32, String, String
) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    let output = Pipe()
    let errors = Pipe()
    process.standardOutput = output
    process.standardError = errors
    try process.run()
    let watchdog = Task {
        try await Task.sleep(for: limit)
        process.terminate()
    }
    let outData = await Task.detached { output.fileHandleForReading.readDataToEndOfFile() }.value
    let errData = await Task.detached { errors.fileHandleForReading.readDataToEndOfFile() }.value
    await Task.detached { process.waitUntilExit() }.value
    watchdog.cancel()
    return (
        process.terminationStatus, String(decoding: outData, as: UTF8.self), String(decoding: errData, as: UTF8.self)
    )
}

enum Repository {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path
    static var python: String { "\(root)/.venv/bin/python" }
}

@Suite("Interoperability")
struct InteropTests {
    @Test("an aioquic client completes a handshake with ALPN rpcnet/1 and gets its bytes echoed")
    func aioquicEcho() async throws {
        try #require(
            FileManager.default.isExecutableFile(atPath: Repository.python),
            "run `make test`: it creates .venv with aioquic")
        try await withReactor { reactor in
            let server = try await QUICEndpoint.listen(
                reactor: reactor, address: .loopback(), configuration: TestCertificates.server())
            let echoTask = startEchoServer(server)
            let (status, output, errors) = try await runProcess(
                Repository.python,
                [
                    "\(Repository.root)/Tests/Interop/aioquic_echo_client.py", "--port", "\(server.localAddress.port)",
                    "--ca", TestCertificates.ca, "--size", "300000",
                ])
            #expect(status == 0, "aioquic client failed: \(errors)")
            #expect(output.contains("alpn=rpcnet/1 sent=300000 received=300000"))
            #expect(server.statistics.handshakesCompleted == 1)
            server.close()
            await echoTask.value
        }
    }
}
