import Foundation
import TestSupport
import Testing

@testable import RpcNet

@Suite("rpcnet/1 interoperability")
struct ProtocolInteropTests {
    @Test("a Python client written from docs/PROTOCOL.md calls unary and server-streaming methods")
    func pythonClient() async throws {
        let root = Repository.root
        let python = Repository.python
        try #require(
            FileManager.default.isExecutableFile(atPath: python), "run `make test`: it creates .venv with aioquic")
        let reactor = try Reactor.start(name: "protocol-interop")
        let listener = try await QUICEndpoint.listen(
            reactor: reactor, address: .loopback(),
            configuration: .server(
                certificateChainFile: "\(TestCertificates.directory)/server.pem",
                privateKeyFile: "\(TestCertificates.directory)/server-key.pem"))
        let server = RPCServer()
        server.register("Echo.say", unary: { request, _ in request })
        server.register(
            "Echo.count",
            serverStreaming: { request, responses, _ in
                for index in 0..<(Int(request.text) ?? 0) { try await responses.send([UInt8]("\(index)")) }
            })
        let serving = Task { await server.serve(listener) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [
            "\(root)/Tests/Interop/rpcnet_protocol_client.py", "--port", "\(listener.localAddress.port)",
            "--ca", "\(TestCertificates.directory)/ca.pem",
        ]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let watchdog = Task {
            try await Task.sleep(for: .seconds(60))
            process.terminate()
        }
        defer { watchdog.cancel() }
        // Off the cooperative pool: blocking reads there would starve the server's tasks.
        let text = await onOwnThread {
            let data = output.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            return String(decoding: data, as: UTF8.self)
        }
        #expect(process.terminationStatus == 0, "\(text)")
        #expect(text.contains("ok unary"))
        #expect(text.contains("ok server streaming"))
        #expect(text.contains("ok unknown method"))
        await server.shutdown(gracePeriod: .seconds(1))
        await serving.value
        await reactor.shutdown()
    }
}
