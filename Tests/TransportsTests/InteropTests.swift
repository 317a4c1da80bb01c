import Foundation
import TestSupport
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
    // Blocking reads run on threads of their own: on the cooperative pool (two threads on the
    // CI machine) they would starve the tasks serving the child.
    async let outData = onOwnThread { output.fileHandleForReading.readDataToEndOfFile() }
    async let errData = onOwnThread { errors.fileHandleForReading.readDataToEndOfFile() }
    let (out, err) = await (outData, errData)
    await onOwnThread { process.waitUntilExit() }
    watchdog.cancel()
    return (process.terminationStatus, String(decoding: out, as: UTF8.self), String(decoding: err, as: UTF8.self))
}

@Suite("Interoperability")
struct InteropTests {
    @Test(
        "an aioquic client completes a handshake with ALPN rpcnet/1 and gets its bytes echoed (with and without Retry)",
        arguments: [false, true])
    func aioquicEcho(retry: Bool) async throws {
        var configuration = TestCertificates.server()
        configuration.retryThreshold = retry ? 0 : nil
        try #require(
            FileManager.default.isExecutableFile(atPath: Repository.python),
            "run `make test`: it creates .venv with aioquic")
        try await withReactor { reactor in
            let server = try await QUICEndpoint.listen(
                reactor: reactor, address: .loopback(), configuration: configuration)
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
            #expect(server.statistics.retriesSent == (retry ? 1 : 0))
            server.close()
            await echoTask.value
        }
    }
}
