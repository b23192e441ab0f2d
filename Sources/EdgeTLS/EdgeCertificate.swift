import Crypto
import Foundation
import SwiftASN1
import X509

/// The certificate and key nginx serves HTTPS with, read from PEM files and checked the way a
/// client and nginx will see them: the key belongs to the first certificate, each further
/// certificate in the file signed the one before it, and today is inside the leaf's validity.
public struct EdgeCertificate: Sendable {
    /// The leaf first, then the intermediates, as in the file.
    public let chain: [Certificate]
    public let certificateFile: String
    public let keyFile: String

    /// Reads and checks the pair; `now` is the clock the validity is judged by.
    public init(certificateFile: String, keyFile: String, now: Date = Date()) throws(EdgeTLSError) {
        (self.certificateFile, self.keyFile) = (certificateFile, keyFile)
        let certificateText = try PEMFile.read(certificateFile)
        let documents: [PEMDocument]
        do {
            documents = try PEMDocument.parseMultiple(pemString: certificateText).filter { $0.discriminator == "CERTIFICATE" }
        } catch {
            throw .unreadable(file: certificateFile, reason: "not PEM (\(error)); nginx wants `-----BEGIN CERTIFICATE-----` blocks")
        }
        guard !documents.isEmpty else {
            throw .unreadable(file: certificateFile, reason: "it holds no `-----BEGIN CERTIFICATE-----` block")
        }
        var chain: [Certificate] = []
        for (index, document) in documents.enumerated() {
            do {
                chain.append(try Certificate(pemDocument: document))
            } catch {
                throw .unreadable(file: certificateFile, reason: "certificate \(index + 1) is not a valid X.509 certificate (\(error))")
            }
        }
        self.chain = chain
        let key: Certificate.PrivateKey
        do {
            key = try Certificate.PrivateKey(pemEncoded: try PEMFile.read(keyFile))
        } catch let error as EdgeTLSError {
            throw error
        } catch {
            throw .unreadable(file: keyFile, reason: "not a PEM private key nginx can use (RSA, ECDSA P-256/384/521 or Ed25519): \(error)")
        }
        guard key.publicKey == chain[0].publicKey else {
            throw .keyMismatch(certificate: certificateFile, key: keyFile, subject: Self.name(chain[0]))
        }
        for index in chain.indices.dropFirst() {
            let (signed, signer) = (chain[index - 1], chain[index])
            guard signed.issuer == signer.subject, signer.publicKey.isValidSignature(signed.signature, for: signed) else {
                throw .brokenChain(file: certificateFile, position: index + 1, issuer: signed.issuer.description, found: signer.subject.description)
            }
        }
        let leaf = chain[0]
        if now > leaf.notValidAfter { throw .expired(file: certificateFile, on: leaf.notValidAfter) }
        if now < leaf.notValidBefore { throw .notYetValid(file: certificateFile, from: leaf.notValidBefore) }
        self.now = now
    }

    private let now: Date

    public var leaf: Certificate { chain[0] }

    /// The names clients may reach it by: its DNS names and IP addresses, else its common name.
    public var names: [String] {
        let alternatives = (try? leaf.extensions.subjectAlternativeNames).flatMap { $0 } ?? SubjectAlternativeNames()
        let listed: [String] = alternatives.compactMap { name in
            switch name {
            case .dnsName(let dns): return dns
            case .ipAddress(let octets): return Self.address(Array(octets.bytes))
            default: return nil
            }
        }
        return listed.isEmpty ? [Self.name(leaf)] : listed
    }

    /// Days until the leaf expires, to the nearest day.
    public var daysLeft: Int { Int((leaf.notValidAfter.timeIntervalSince(now) / 86_400).rounded()) }

    /// Signed by its own key: clients trust it only if told to.
    public var isSelfSigned: Bool {
        leaf.issuer == leaf.subject && leaf.publicKey.isValidSignature(leaf.signature, for: leaf)
    }

    /// The OCSP responder the leaf names, which nginx staples answers from.
    public var ocspResponder: String? {
        guard let access = try? leaf.extensions.authorityInformationAccess else { return nil }
        for description in access where description.method == .ocspServer {
            if case .uniformResourceIdentifier(let url) = description.location { return url }
        }
        return nil
    }

    /// Whether nginx can staple OCSP answers: the leaf names a responder and its issuer is in the file.
    public var canStaple: Bool { ocspResponder != nil && chain.count > 1 }

    /// What deserves a warning but not a refusal.
    public var warnings: [String] {
        var warnings: [String] = []
        if daysLeft < 14 {
            warnings.append("it expires in \(daysLeft) day\(daysLeft == 1 ? "" : "s") (\(Self.day(leaf.notValidAfter))): renew it (certbot renew) and run `swiftdeploy tls reload`")
        }
        if isSelfSigned { warnings.append("it is self-signed: browsers and clients trust it only if told to (fine for development)") }
        if !isSelfSigned && chain.count == 1 {
            warnings.append("the file holds the leaf only: clients that lack its intermediate fail; use the full chain (certbot: fullchain.pem)")
        }
        return warnings
    }

    /// Copies the checked pair to where nginx reads it (the key 0600), so nginx only ever loads a
    /// pair that passed these checks, whatever happens to the source files between reloads.
    public func install(certificateTo certificate: String, keyTo key: String, owner: (uid: UInt32, gid: UInt32)? = nil) throws(EdgeTLSError) {
        try PEMFile.save(try PEMFile.read(keyFile), to: key, mode: 0o600, owner: owner)
        try PEMFile.save(try PEMFile.read(certificateFile), to: certificate, mode: 0o644, owner: owner)
    }

    /// One line for `validate` and `tls status`.
    public var summary: String {
        var parts = ["\(names.joined(separator: ", "))", "expires \(Self.day(leaf.notValidAfter)) (\(daysLeft) days)",
                     "chain of \(chain.count)"]
        parts.append(canStaple ? "OCSP stapling from \(ocspResponder!)" : "no OCSP stapling (\(ocspResponder == nil ? "no responder named" : "issuer not in the file"))")
        return parts.joined(separator: "; ")
    }

    static func name(_ certificate: Certificate) -> String {
        certificate.subject.description.isEmpty ? "(no subject)" : certificate.subject.description
    }

    static func day(_ date: Date) -> String { String(ISO8601DateFormatter().string(from: date).prefix(10)) }

    static func address(_ bytes: [UInt8]) -> String? {
        switch bytes.count {
        case 4: return bytes.map(String.init).joined(separator: ".")
        case 16:
            var address = in6_addr()
            withUnsafeMutableBytes(of: &address) { $0.copyBytes(from: bytes) }
            var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
            return inet_ntop(AF_INET6, &address, &text, socklen_t(text.count)).map { String(cString: $0) }
        default: return nil
        }
    }
}

/// Why a certificate or key cannot be served, with what to do about it.
public enum EdgeTLSError: Error, Equatable, CustomStringConvertible {
    case unreadable(file: String, reason: String)
    case keyMismatch(certificate: String, key: String, subject: String)
    case brokenChain(file: String, position: Int, issuer: String, found: String)
    case expired(file: String, on: Date)
    case notYetValid(file: String, from: Date)
    case cannotWrite(file: String, reason: String)

    public var description: String {
        switch self {
        case .unreadable(let file, let reason):
            "\(file): \(reason)"
        case .keyMismatch(let certificate, let key, let subject):
            "the key in \(key) does not belong to the certificate in \(certificate) (\(subject)): their public keys differ; use the key this certificate was made for (certbot: privkey.pem beside fullchain.pem)"
        case .brokenChain(let file, let position, let issuer, let found):
            "\(file): certificate \(position) (\(found)) did not sign certificate \(position - 1), whose issuer is \(issuer); the file must hold the leaf first, then each intermediate in order (certbot: fullchain.pem)"
        case .expired(let file, let on):
            "\(file): the certificate expired on \(EdgeCertificate.day(on)); renew it and run `swiftdeploy tls reload`"
        case .notYetValid(let file, let from):
            "\(file): the certificate is valid only from \(EdgeCertificate.day(from)); check this host's clock"
        case .cannotWrite(let file, let reason):
            "cannot write \(file): \(reason)"
        }
    }
}
