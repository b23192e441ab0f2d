import Crypto
import Foundation
import SwiftASN1
import X509

/// A certificate for development (`swiftdeploy tls self-signed`): an ECDSA P-256 key and a
/// certificate it signs itself, for the given host names and addresses, for server use only
/// (extended key usage serverAuth, not a CA).
public enum SelfSignedCertificate {
    /// Makes the pair and writes it: the certificate world-readable, the key 0600.
    /// - Parameter names: DNS names and IP addresses (the first is the common name).
    public static func write(names: [String], days: Int, certificateFile: String, keyFile: String, now: Date = Date()) throws(EdgeTLSError) {
        let key = P256.Signing.PrivateKey()
        let (certificatePEM, keyPEM): (String, String)
        do {
            let signer = Certificate.PrivateKey(key)
            let subject = try DistinguishedName { CommonName(names.first ?? "localhost"); OrganizationName("swiftdeploy development") }
            let alternatives = SubjectAlternativeNames(names.map { name -> GeneralName in
                if let bytes = addressBytes(name) { return .ipAddress(ASN1OctetString(contentBytes: bytes[...])) }
                return .dnsName(name)
            })
            let certificate = try Certificate(
                version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: signer.publicKey,
                notValidBefore: now.addingTimeInterval(-300), notValidAfter: now.addingTimeInterval(Double(days) * 86_400),
                issuer: subject, subject: subject, signatureAlgorithm: .ecdsaWithSHA256,
                extensions: try Certificate.Extensions {
                    // No key usage: BoringSSL (the tool's own HTTPS client) refuses a self-signed trust
                    // anchor whose key usage lacks certificate signing, which a leaf must not claim.
                    Critical(BasicConstraints.notCertificateAuthority)
                    try ExtendedKeyUsage([.serverAuth])
                    alternatives
                },
                issuerPrivateKey: signer)
            certificatePEM = try certificate.serializeAsPEM().pemString + "\n"
            keyPEM = try signer.serializeAsPEM().pemString + "\n"
        } catch {
            throw .cannotWrite(file: certificateFile, reason: "the certificate could not be made: \(error)")
        }
        try PEMFile.save(keyPEM, to: keyFile, mode: 0o600)
        try PEMFile.save(certificatePEM, to: certificateFile, mode: 0o644)
    }

    static func addressBytes(_ text: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 { return withUnsafeBytes(of: &v4) { Array($0) } }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 { return withUnsafeBytes(of: &v6) { Array($0) } }
        return nil
    }
}
