import Foundation
import Spawn

/// Certificates made by openssl (not by the code under test): a CA, and leaves it signs.
public struct TestCertificates: Sendable {
    public let directory: String
    public var caCertificate: String { "\(directory)/ca.pem" }

    /// Makes the CA (ECDSA P-256, 30 days) in `directory`.
    public init(directory: String) throws {
        self.directory = directory
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try Self.openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "\(directory)/ca.key",
                          "-out", caCertificate, "-days", "30", "-subj", "/CN=SwiftDeploy Test CA",
                          "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"])
    }

    /// A leaf for `names` signed by the CA: its key (0600), the leaf alone, and leaf + CA.
    /// - Parameter ocsp: an OCSP responder URL to name in the leaf.
    public func leaf(_ label: String, names: [String] = ["localhost", "127.0.0.1"], days: Int = 20, ocsp: String? = nil)
        throws -> (key: String, certificate: String, fullChain: String)
    {
        let base = "\(directory)/\(label)"
        try Self.openssl(["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "\(base).key",
                          "-out", "\(base).csr", "-subj", "/CN=\(names[0])"])
        let alternatives = names.map { $0.contains(where: \.isLetter) && !$0.contains(":") ? "DNS:\($0)" : "IP:\($0)" }.joined(separator: ",")
        var extensions = "subjectAltName=\(alternatives)\nextendedKeyUsage=serverAuth\n"
        if let ocsp { extensions += "authorityInfoAccess=OCSP;URI:\(ocsp)\n" }
        try extensions.write(toFile: "\(base).ext", atomically: true, encoding: .utf8)
        try Self.openssl(["x509", "-req", "-in", "\(base).csr", "-CA", caCertificate, "-CAkey", "\(directory)/ca.key", "-CAcreateserial",
                          "-days", String(days), "-out", "\(base).pem", "-extfile", "\(base).ext"])
        chmod("\(base).key", 0o600)
        let chain = try String(contentsOfFile: "\(base).pem", encoding: .utf8) + String(contentsOfFile: caCertificate, encoding: .utf8)
        try chain.write(toFile: "\(base)-fullchain.pem", atomically: true, encoding: .utf8)
        return ("\(base).key", "\(base).pem", "\(base)-fullchain.pem")
    }

    /// The SHA-256 fingerprint of a PEM certificate, as openssl prints it.
    public static func fingerprint(of certificate: String) throws -> String {
        try openssl(["x509", "-in", certificate, "-noout", "-fingerprint", "-sha256"])
    }

    /// The fingerprint of the certificate a TLS server on 127.0.0.1:`port` presents for `name`.
    public static func served(port: Int, name: String = "localhost") throws -> String {
        let session = try ChildProcess.run(["openssl", "s_client", "-connect", "127.0.0.1:\(port)", "-servername", name], input: "")
        let pem = session.output.components(separatedBy: "-----BEGIN CERTIFICATE-----").dropFirst().first
            .flatMap { $0.components(separatedBy: "-----END CERTIFICATE-----").first }
        guard let pem else { throw TestFailure("no certificate from 127.0.0.1:\(port): \(session.output.suffix(500))") }
        let file = NSTemporaryDirectory() + "served-\(UUID().uuidString.prefix(8)).pem"
        defer { try? FileManager.default.removeItem(atPath: file) }
        try "-----BEGIN CERTIFICATE-----\(pem)-----END CERTIFICATE-----\n".write(toFile: file, atomically: true, encoding: .utf8)
        return try fingerprint(of: file)
    }

    @discardableResult
    public static func openssl(_ arguments: [String]) throws -> String {
        let result = try ChildProcess.run(["openssl"] + arguments)
        guard result.status == 0 else { throw TestFailure("openssl \(arguments.joined(separator: " ")): \(result.output)") }
        return result.output.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

public struct TestFailure: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
