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
        let mode = query["sslmode"] ?? (socketFolder == nil ? "prefer" : "disable")
        guard let tls = TLSMode(rawValue: mode) else {
            throw SharedStoreError("guard.shared: sslmode \(mode) is not one of disable, prefer, require, verify-full")
        }
        self.tls = tls
        rootCertificate = query["sslrootcert"]
    }

    /// The client configuration for this URL and password.
    func configuration(password: String?) throws(SharedStoreError) -> PostgresClient.Configuration {
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
