import Foundation

/// A private PostgreSQL 15 cluster for one test (`scripts/postgres`): its own folder under `.build`,
/// reached on a unix socket only (network namespaces share it), the `guard` role with a password.
public final class PostgresTestCluster: @unchecked Sendable {
    public let directory: String
    public let url: String
    public let password: String

    /// With `tls`: the URL of its TLS listener on 127.0.0.1 (sslmode=verify-full, its own CA).
    public let tlsURL: String?
    /// The port (also in the name of its unix socket).
    public let port: String

    private init(directory: String, url: String, password: String, tlsURL: String?, port: String) {
        (self.directory, self.url, self.password, self.tlsURL, self.port) = (directory, url, password, tlsURL, port)
    }

    /// Initialises and starts a fresh cluster; with `tls`, also listening for TLS on a free loopback port.
    public static func start(_ label: String, tls: Bool = false) throws -> PostgresTestCluster {
        let directory = "\(OPAServer.repositoryRoot)/.build/postgres-\(label)-\(String(UInt32.random(in: 0..<UInt32.max), radix: 16))"
        let output = try script("start", directory, tls ? ["--tls", String(TestSupport.freePort())] : [])
        func value(_ key: String) -> String? {
            output.split(separator: "\n").first { $0.hasPrefix("\(key): ") }.map { String($0.dropFirst(key.count + 2)) }
        }
        guard let url = value("url"), let password = value("password"), let port = value("port") else {
            throw DockerTestEngine.Unavailable(description: "scripts/postgres start said: \(output)")
        }
        return PostgresTestCluster(directory: directory, url: url, password: password, tlsURL: value("tls-url"), port: port)
    }

    /// Starts it again after `stop` or `kill`.
    public func restart() throws { _ = try Self.script("start", directory) }
    /// A clean shutdown.
    public func stop() throws { _ = try Self.script("stop", directory) }
    /// An immediate shutdown, as a crash would leave it.
    public func kill() throws { _ = try Self.script("kill", directory) }

    /// Stops it and removes its folder.
    public func remove() {
        _ = try? Self.script("stop", directory)
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Runs SQL as the guard role; returns psql's unaligned output.
    public func query(_ sql: String) throws -> String {
        let result = try DockerTestEngine.shell(["env", "PGPASSWORD=\(password)", "psql", "-h", directory, "-p", port, "-U", "guard", "-d", "swiftdeploy",
                                                 "-tAc", sql])
        guard result.status == 0 else { throw DockerTestEngine.Unavailable(description: "psql: \(result.output)") }
        return result.output.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    private static func script(_ action: String, _ directory: String, _ options: [String] = []) throws -> String {
        let result = try DockerTestEngine.shell(["bash", "\(OPAServer.repositoryRoot)/scripts/postgres", action, directory] + options)
        guard result.status == 0 else {
            throw DockerTestEngine.Unavailable(description: "scripts/postgres \(action) failed:\n\(result.output)")
        }
        return result.output
    }
}
