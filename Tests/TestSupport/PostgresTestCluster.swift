import Foundation

/// A private PostgreSQL 15 cluster for one test (`scripts/postgres`): its own folder under `.build`,
/// reached on a unix socket only (network namespaces share it), the `guard` role with a password.
public final class PostgresTestCluster: @unchecked Sendable {
    public let directory: String
    public let url: String
    public let password: String

    private init(directory: String, url: String, password: String) {
        (self.directory, self.url, self.password) = (directory, url, password)
    }

    /// Initialises and starts a fresh cluster.
    public static func start(_ label: String) throws -> PostgresTestCluster {
        let directory = "\(OPAServer.repositoryRoot)/.build/postgres-\(label)-\(String(UInt32.random(in: 0..<UInt32.max), radix: 16))"
        let output = try script("start", directory)
        func value(_ key: String) -> String? {
            output.split(separator: "\n").first { $0.hasPrefix("\(key): ") }.map { String($0.dropFirst(key.count + 2)) }
        }
        guard let url = value("url"), let password = value("password") else {
            throw DockerTestEngine.Unavailable(description: "scripts/postgres start said: \(output)")
        }
        return PostgresTestCluster(directory: directory, url: url, password: password)
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
        let result = try DockerTestEngine.shell(["env", "PGPASSWORD=\(password)", "psql", "-h", directory, "-U", "guard", "-d", "swiftdeploy",
                                                 "-tAc", sql])
        guard result.status == 0 else { throw DockerTestEngine.Unavailable(description: "psql: \(result.output)") }
        return result.output.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    private static func script(_ action: String, _ directory: String) throws -> String {
        let result = try DockerTestEngine.shell(["bash", "\(OPAServer.repositoryRoot)/scripts/postgres", action, directory])
        guard result.status == 0 else {
            throw DockerTestEngine.Unavailable(description: "scripts/postgres \(action) failed:\n\(result.output)")
        }
        return result.output
    }
}
