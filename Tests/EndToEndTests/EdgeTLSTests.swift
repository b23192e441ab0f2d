import Foundation
import Manifest
import Spawn
import TestSupport
import Testing

/// HTTPS at the edge on both runtimes, checked by clients that verify: curl trusting only the test's
/// CA, openssl s_client for the certificate served. The canary analysis and the JSON log work as over
/// HTTP, plain HTTP is redirected, and a renewal reaches nginx only when the new pair is sound.
@Suite(.serialized) struct LifecycleOverHTTPS {
    @Test(arguments: RuntimeKind.allCases)
    func servesVerifiedHTTPSRedirectsPlainHTTPAndReloadsARenewedCertificate(runtime: RuntimeKind) async throws {
        let tlsPort = TestSupport.freePort()
        let certificates = try TestCertificates(directory: TestSupport.temporaryDirectory("e2e-tls-ca"))
        defer { try? FileManager.default.removeItem(atPath: certificates.directory) }
        let first = try certificates.leaf("first")
        let project = try LifecycleProject("e2e-tls", runtime: runtime, nginx: ", tls: { certificate: \(first.fullChain), key: \(first.key), port: \(tlsPort) }")
        defer { _ = try? TestSupport.run("swiftdeploy", ["teardown"], in: project.directory); project.remove() }

        let validate = try await project.run("validate")
        #expect(validate.status == 0, "\(validate.stdout)\(validate.stderr)")
        #expect(validate.stdout.contains("PASS  TLS certificate and key belong together: localhost, 127.0.0.1"), "\(validate.stdout)")
        let deploy = try await project.run("deploy")
        #expect(deploy.status == 0, "\(deploy.stdout)\(deploy.stderr)")
        #expect(deploy.stdout.contains("ready: https://127.0.0.1:\(tlsPort)"), "\(deploy.stdout)")

        let site = "https://localhost:\(tlsPort)"
        let answer = try curl(["-i", "\(site)/healthz"], port: tlsPort, trust: certificates.caCertificate)
        #expect(answer.status == 0 && answer.output.contains("HTTP/2 200"), "\(answer.output)")
        #expect(answer.output.lowercased().contains("strict-transport-security: max-age=31536000"), "\(answer.output)")
        // A client that does not trust the CA refuses the edge: the certificate is really checked.
        let untrusted = try curl(["\(site)/healthz"], port: tlsPort, trust: nil)
        #expect(untrusted.status == 60, "\(untrusted.output)")
        #expect(try TestCertificates.served(port: tlsPort) == TestCertificates.fingerprint(of: first.certificate))
        // Plain HTTP is sent to the same path and query over HTTPS, and never counts as a track's request.
        let plain = try ChildProcess.run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code} %{redirect_url}", "http://127.0.0.1:\(project.nginxPort)/shop?q=1"])
        #expect(plain.output == "308 https://127.0.0.1:\(tlsPort)/shop?q=1", "\(plain.output)")

        // The canary takes its share over HTTPS, and its analysis reads those requests from the log.
        #expect(try await project.run("canary", "start").status == 0)
        let modes = try curl(["-w", "%{http_code} %header{x-mode}\\n"] + Array(repeating: ["-o", "/dev/null", "\(site)/"], count: 60).flatMap { $0 },
                             port: tlsPort, trust: certificates.caCertificate)
        let lines = modes.output.split(separator: "\n")
        #expect(lines.count == 60 && lines.allSatisfy { $0.hasPrefix("200 ") }, "\(lines.filter { !$0.hasPrefix("200 ") })")
        #expect(lines.contains("200 canary") && lines.contains("200 stable"), "\(modes.output)")
        let check = try await project.run("policy", "check", "--policy", "canary_safety")
        let requests = check.stdout.split(separator: "\n").first { $0.contains("\"requests\":") }
        #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
        #expect(requests.map { !$0.contains("\"requests\":0,") } == true, "\(check.stdout)")
        let log = try String(contentsOfFile: "\(project.directory)/.swiftdeploy/nginx/logs/access.log", encoding: .utf8)
        let entries = log.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        #expect(entries.contains { $0["status"] as? Int == 308 && $0["upstream"] as? String == "" && $0["uri"] as? String == "/shop?q=1" })
        #expect(entries.filter { $0["upstream"] as? String == "canary" }.count >= 5)

        // Renewal: a certificate whose key is not the one named is refused and the edge keeps its pair...
        let second = try certificates.leaf("second")
        try FileManager.default.removeItem(atPath: first.fullChain)
        try FileManager.default.copyItem(atPath: second.fullChain, toPath: first.fullChain)
        let refused = try await project.run("tls", "reload")
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("does not belong to the certificate"), "\(refused.stderr)")
        #expect(try TestCertificates.served(port: tlsPort) == TestCertificates.fingerprint(of: first.certificate))
        // ...and once its key is in place too, nginx serves it.
        try FileManager.default.removeItem(atPath: first.key)
        try FileManager.default.copyItem(atPath: second.key, toPath: first.key)
        let reloaded = try await project.run("tls", "reload")
        #expect(reloaded.status == 0, "\(reloaded.stdout)\(reloaded.stderr)")
        #expect(try TestCertificates.served(port: tlsPort) == TestCertificates.fingerprint(of: second.certificate))
        #expect(try curl(["\(site)/healthz"], port: tlsPort, trust: certificates.caCertificate).status == 0)

        #expect(try await project.run("teardown").status == 0)
        #expect(!TestSupport.isListening(tlsPort))
        #expect(project.leftovers().isEmpty, "\(project.leftovers())")
    }

    /// curl, resolving localhost to 127.0.0.1 and verifying the name and chain against `trust` only.
    func curl(_ arguments: [String], port: Int, trust: String?) throws -> (status: Int32, output: String) {
        let trusting = trust.map { ["--cacert", $0] } ?? []  // nil: the system's roots only
        let result = try ChildProcess.run(["curl", "-sS", "--resolve", "localhost:\(port):127.0.0.1"] + trusting + arguments)
        return (result.status, result.output)
    }
}
