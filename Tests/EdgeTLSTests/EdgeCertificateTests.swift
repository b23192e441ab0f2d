import EdgeTLS
import Foundation
import Spawn
import TestSupport
import Testing
import Web

/// The checks `validate`, `deploy` and `tls reload` make before nginx gets a pair, on pairs openssl made.
struct EdgeCertificateTests {
    let certificates: TestCertificates
    init() throws { certificates = try TestCertificates(directory: TestSupport.temporaryDirectory("edge-tls")) }

    @Test func aLeafWithItsChainAndKeyPassesAndIsDescribed() throws {
        defer { try? FileManager.default.removeItem(atPath: certificates.directory) }
        let leaf = try certificates.leaf("site", names: ["shop.example", "127.0.0.1"], days: 20, ocsp: "http://ocsp.example/")
        let pair = try EdgeCertificate(certificateFile: leaf.fullChain, keyFile: leaf.key)
        #expect(pair.chain.count == 2)
        #expect(pair.names == ["shop.example", "127.0.0.1"])
        #expect((19...20).contains(pair.daysLeft))
        #expect(!pair.isSelfSigned)
        #expect(pair.ocspResponder == "http://ocsp.example/" && pair.canStaple)
        #expect(pair.warnings.isEmpty, "\(pair.warnings)")
        // The leaf alone: no stapling (nginx cannot find its issuer), and a warning to send the chain.
        let alone = try EdgeCertificate(certificateFile: leaf.certificate, keyFile: leaf.key)
        #expect(!alone.canStaple)
        #expect(alone.warnings.contains { $0.contains("fullchain.pem") }, "\(alone.warnings)")
        #expect(alone.summary.contains("no OCSP stapling (issuer not in the file)"), "\(alone.summary)")
    }

    @Test func aKeyOfAnotherCertificateIsRefusedNamingBothFiles() throws {
        defer { try? FileManager.default.removeItem(atPath: certificates.directory) }
        let first = try certificates.leaf("first")
        let second = try certificates.leaf("second")
        let error = #expect(throws: EdgeTLSError.self) { try EdgeCertificate(certificateFile: first.fullChain, keyFile: second.key) }
        #expect(error?.description.contains("the key in \(second.key) does not belong to the certificate in \(first.fullChain)") == true,
                "\(error?.description ?? "")")
    }

    @Test func aChainOutOfOrderIsRefusedSayingWhichCertificate() throws {
        defer { try? FileManager.default.removeItem(atPath: certificates.directory) }
        let leaf = try certificates.leaf("site")
        let other = try TestCertificates(directory: certificates.directory + "/other")
        // The leaf followed by a CA that did not sign it.
        let wrong = certificates.directory + "/wrong-chain.pem"
        try (String(contentsOfFile: leaf.certificate, encoding: .utf8) + String(contentsOfFile: other.caCertificate, encoding: .utf8))
            .write(toFile: wrong, atomically: true, encoding: .utf8)
        let error = #expect(throws: EdgeTLSError.self) { try EdgeCertificate(certificateFile: wrong, keyFile: leaf.key) }
        #expect(error?.description.contains("certificate 2") == true && error?.description.contains("did not sign certificate 1") == true,
                "\(error?.description ?? "")")
    }

    /// Validity is judged by the clock it is given: expired, not yet valid, and near its end.
    @Test func expiryIsJudgedByTheGivenClock() throws {
        defer { try? FileManager.default.removeItem(atPath: certificates.directory) }
        let leaf = try certificates.leaf("site", days: 20)
        let now = try EdgeCertificate(certificateFile: leaf.fullChain, keyFile: leaf.key)
        let end = now.leaf.notValidAfter
        let expired = #expect(throws: EdgeTLSError.self) {
            try EdgeCertificate(certificateFile: leaf.fullChain, keyFile: leaf.key, now: end.addingTimeInterval(60))
        }
        #expect(expired?.description.contains("expired on") == true, "\(expired?.description ?? "")")
        #expect(throws: EdgeTLSError.self) {
            try EdgeCertificate(certificateFile: leaf.fullChain, keyFile: leaf.key, now: now.leaf.notValidBefore.addingTimeInterval(-60))
        }
        let late = try EdgeCertificate(certificateFile: leaf.fullChain, keyFile: leaf.key, now: end.addingTimeInterval(-5 * 86_400))
        #expect(late.daysLeft == 5)
        #expect(late.warnings.contains { $0.contains("expires in 5 days") }, "\(late.warnings)")
        let early = try EdgeCertificate(certificateFile: leaf.fullChain, keyFile: leaf.key, now: end.addingTimeInterval(-15 * 86_400))
        #expect(!early.warnings.contains { $0.contains("expires in") })
    }

    @Test func missingAndMalformedFilesAreNamed() throws {
        defer { try? FileManager.default.removeItem(atPath: certificates.directory) }
        let leaf = try certificates.leaf("site")
        let missing = #expect(throws: EdgeTLSError.self) { try EdgeCertificate(certificateFile: "/nonexistent/cert.pem", keyFile: leaf.key) }
        #expect(missing?.description == "/nonexistent/cert.pem: no such file")
        let garbage = certificates.directory + "/garbage.pem"
        try "hello\n".write(toFile: garbage, atomically: true, encoding: .utf8)
        let notPEM = #expect(throws: EdgeTLSError.self) { try EdgeCertificate(certificateFile: garbage, keyFile: leaf.key) }
        #expect(notPEM?.description.hasPrefix("\(garbage): ") == true, "\(notPEM?.description ?? "")")
        let badKey = #expect(throws: EdgeTLSError.self) { try EdgeCertificate(certificateFile: leaf.fullChain, keyFile: garbage) }
        #expect(badKey?.description.contains("\(garbage): not a PEM private key") == true, "\(badKey?.description ?? "")")
    }

    /// `tls self-signed`'s pair, checked by openssl: it verifies as its own root, for the names
    /// and addresses asked for, server use only, and the key (0600) belongs to it.
    @Test func aSelfSignedPairIsWhatOpenSSLExpects() throws {
        defer { try? FileManager.default.removeItem(atPath: certificates.directory) }
        let (certificate, key) = (certificates.directory + "/dev/cert.pem", certificates.directory + "/dev/key.pem")
        try SelfSignedCertificate.write(names: ["dev.local", "127.0.0.1", "::1"], days: 7, certificateFile: certificate, keyFile: key)
        #expect(try TestCertificates.openssl(["verify", "-CAfile", certificate, "-purpose", "sslserver", certificate]).hasSuffix("OK"))
        let text = try TestCertificates.openssl(["x509", "-in", certificate, "-noout", "-text"])
        #expect(text.contains("DNS:dev.local, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1"), "\(text)")
        #expect(text.contains("CA:FALSE") && text.contains("TLS Web Server Authentication"))
        #expect(try TestCertificates.openssl(["x509", "-in", certificate, "-noout", "-pubkey"]) == TestCertificates.openssl(["pkey", "-in", key, "-pubout"]))
        #expect(try TestCertificates.openssl(["x509", "-in", certificate, "-noout", "-checkend", String(6 * 86_400)]).contains("will not expire"))
        #expect(try FileManager.default.attributesOfItem(atPath: key)[.posixPermissions] as? Int == 0o600)
        let pair = try EdgeCertificate(certificateFile: certificate, keyFile: key)
        #expect(pair.isSelfSigned && pair.daysLeft == 7)
        #expect(pair.warnings.contains { $0.contains("self-signed") })
    }
}

/// The tool's own HTTPS client (BoringSSL, stricter than openssl's CLI) trusts a `tls self-signed`
/// pair, as deploy's health check through nginx must: a real TLS server (openssl s_server) serves it.
struct SelfSignedForOurClient {
    @Test func theEdgeClientTrustsASelfSignedPair() async throws {
        let directory = TestSupport.temporaryDirectory("self-signed-client")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (certificate, key) = ("\(directory)/cert.pem", "\(directory)/key.pem")
        try SelfSignedCertificate.write(names: ["localhost", "127.0.0.1"], days: 7, certificateFile: certificate, keyFile: key)
        let port = TestSupport.freePort()
        let server = try ChildProcess.spawn(["openssl", "s_server", "-accept", "127.0.0.1:\(port)", "-cert", certificate, "-key", key, "-www"],
                                            logFile: "\(directory)/s_server.log")
        defer { ChildProcess.signal(server, SIGKILL) }
        var status: Int?
        var last = ""
        for _ in 0..<100 where status == nil {  // bounded: 10 s for s_server to listen
            do {
                status = try await HTTP.get("https://127.0.0.1:\(port)/", client: HTTP.client(trusting: certificate)).status
            } catch {
                last = "\(error)"
                try await Task.sleep(for: .milliseconds(100))
            }
        }
        #expect(status == 200, "\(last)")
    }
}
