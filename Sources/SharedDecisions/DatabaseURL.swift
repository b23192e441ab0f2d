import Foundation
import NIOSSL
import PostgresNIO

/// A `postgres://` URL as libpq reads it: `postgres://USER@HOST:PORT/DATABASE?sslmode=MODE`, with
/// `host=/folder` for a server's unix socket and `sslrootcert=FILE` for a private CA. The password
/// never sits in the URL: it comes from a file or the environment.
public struct DatabaseURL: Sendable, Equatable {
    public enum TLSMode: String, Sendable {
        /// Plain text (a unix socket, or loopback).
        case disable
        /// TLS when the server offers it, unverified (libpq's default).
        case prefer
        /// TLS or nothing, unverified.
        case require
        /// TLS, the certificate checked against the CA, the host name against the certificate.
        case verifyFull = "verify-full"
    }

    public var user: String
    public var host: String
    public var port: Int
    public var database: String
    /// The folder holding the server's socket, when it is reached on one.
    public var socketFolder: String?
    public var tls: TLSMode
    public var rootCertificate: String?

    /// Parses a URL; the error names what is wrong.
    public init(_ text: String) throws(SharedStoreError) {
        guard let url = URLComponents(string: text), ["postgres", "postgresql"].contains(url.scheme ?? "") else {
            throw SharedStoreError("guard.shared: \"\(text)\" is not a postgres:// URL (postgres://USER@HOST:PORT/DATABASE)")
        }
        guard url.password == nil else { throw SharedStoreError("guard.shared: the URL must not hold the password; use password_file or SWIFTDEPLOY_GUARD_DB_PASSWORD") }
        let query = Dictionary((url.queryItems ?? []).map { ($0.name, $0.value ?? "") }) { $1 }
        user = url.user ?? "guard"
        socketFolder = query["host"].flatMap { $0.hasPrefix("/") ? $0 : nil }
        host = url.host ?? (socketFolder == nil ? "127.0.0.1" : "localhost")
        port = url.port ?? 5432
        let path = url.path.hasPrefix("/") ? String(url.path.dropFirst()) : url.path
        database = path.isEmpty ? user : path
        // libpq's default is `prefer`; here an unverified server is good enough only on this host.
        let mode = query["sslmode"] ?? (socketFolder != nil ? "disable" : Self.isLoopback(host) ? "prefer" : "verify-full")
        guard let tls = TLSMode(rawValue: mode) else {
            throw SharedStoreError("guard.shared: sslmode \(mode) is not one of disable, prefer, require, verify-full")
        }
        self.tls = tls
        rootCertificate = query["sslrootcert"]
    }

    /// The client configuration for this URL and password.
    func configuration(password: String?) throws(SharedStoreError) -> PostgresClient.Configuration {
        try checkServerIsVerified(sendingPassword: password != nil)
        var configuration: PostgresClient.Configuration
        if let socketFolder {
            configuration = .init(unixSocketPath: "\(socketFolder)/.s.PGSQL.\(port)", username: user, password: password, database: database)
        } else {
            configuration = .init(host: host, port: port, username: user, password: password, database: database, tls: try tlsSetting())
        }
        configuration.options.connectTimeout = .seconds(2)
        configuration.options.maximumConnections = 4
        return configuration
    }

    private func tlsSetting() throws(SharedStoreError) -> PostgresClient.Configuration.TLS {
        var tls = TLSConfiguration.makeClientConfiguration()
        switch self.tls {
        case .disable: return .disable
        case .prefer, .require:
            tls.certificateVerification = .none
            return self.tls == .prefer ? .prefer(tls) : .require(tls)
        case .verifyFull:
            tls.certificateVerification = .fullVerification
            if let rootCertificate {
                do {
                    tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(rootCertificate))
                } catch {
                    throw SharedStoreError("guard.shared: cannot read sslrootcert \(rootCertificate): \(error)")
                }
            }
            return .require(tls)
        }
    }

    /// Refuses to talk to a server nobody verified when it matters: a password goes only over a
    /// unix socket (the folder's permissions say who listens) or `verify-full` TLS, since anyone on
    /// the path, or a local user who took the port first, could pose as the server and read it; and
    /// a server on another host must be verified whatever the login, since its rows ban addresses on
    /// every edge.
    public func checkServerIsVerified(sendingPassword: Bool) throws(SharedStoreError) {
        guard socketFolder == nil, tls != .verifyFull else { return }
        let fix = "use sslmode=verify-full (with sslrootcert=FILE for your own CA), or the server's unix socket (?host=/var/run/postgresql)"
        if sendingPassword {
            throw SharedStoreError("guard.shared: the password would go to \(host):\(port) with sslmode \(tls.rawValue), to a server nobody verified "
                + "(anyone on the path, or a local user who took the port first, could pose as it and read it); \(fix)")
        }
        if !Self.isLoopback(host) {
            throw SharedStoreError("guard.shared: \(host) is another host, and its decisions ban addresses on every edge: the server must be verified; \(fix)")
        }
    }

    static func isLoopback(_ host: String) -> Bool {
        ["localhost", "127.0.0.1", "::1", "[::1]"].contains(host.lowercased()) || host.hasPrefix("127.")
    }

    /// The URL as it may be shown (it holds no secret).
    public var shown: String {
        "postgres://\(user)@\(socketFolder.map { "[socket \($0)]" } ?? "\(host):\(port)")/\(database) (sslmode \(tls.rawValue))"
    }
}

/// What went wrong with the shared store, and what to do about it.
public struct SharedStoreError: Error, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
