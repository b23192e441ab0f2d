import Foundation
@testable import GuardService
import Manifest
import SharedDecisions
import Testing

/// Which database server an edge trusts with its password and its decisions (issue 27, M3): a
/// password goes only over a unix socket or verified TLS, a server on another host must be
/// verified, and the password file is read only when nobody else could have chosen it.
@Suite struct SharedServerTrust {
    @Test func aServerOnAnotherHostIsVerifiedByDefaultAndMustBe() throws {
        #expect(try DatabaseURL("postgres://guard@db.internal/swiftdeploy").tls == .verifyFull, "libpq would say prefer; an edge says verify-full")
        #expect(try DatabaseURL("postgres://guard@127.0.0.1/swiftdeploy").tls == .prefer)
        #expect(try DatabaseURL("postgres://guard@localhost/swiftdeploy?host=/var/run/postgresql").tls == .disable)
        for mode in ["disable", "prefer", "require"] {
            let remote = try DatabaseURL("postgres://guard@db.internal/swiftdeploy?sslmode=\(mode)")
            #expect { try remote.checkServerIsVerified(sendingPassword: false) } throws: { "\($0)".contains("db.internal is another host") }
            #expect { try SharedDecisionStore(url: remote, password: "secret") } throws: { "\($0)".contains("the password would go to db.internal:5432") }
            // On this host, TCP without TLS is fine without a password, never with one: a local
            // user who took the port first would read it.
            let local = try DatabaseURL("postgres://guard@127.0.0.1:55432/swiftdeploy?sslmode=\(mode)")
            try local.checkServerIsVerified(sendingPassword: false)
            #expect { try local.checkServerIsVerified(sendingPassword: true) } throws: { "\($0)".contains("sslmode=verify-full") && "\($0)".contains("unix socket") }
        }
        try DatabaseURL("postgres://guard@db.internal/swiftdeploy?sslmode=verify-full").checkServerIsVerified(sendingPassword: true)
        try DatabaseURL("postgres://guard@x/swiftdeploy?host=/var/run/postgresql").checkServerIsVerified(sendingPassword: true)
    }

    /// A password refused is never sent: a listener posing as the server on loopback sees no connection.
    @Test func aRefusedPasswordNeverLeavesTheEdge() async throws {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(listener) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var size = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, size) } }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &size) } }
        listen(listener, 8)
        let port = Int(UInt16(bigEndian: address.sin_port))
        let settings = SharedGuardSettings(url: "postgres://guard@127.0.0.1:\(port)/swiftdeploy?sslmode=prefer", edge: "edge-a")
        setenv("SWIFTDEPLOY_GUARD_DB_PASSWORD", "root-only-secret", 1)
        defer { unsetenv("SWIFTDEPLOY_GUARD_DB_PASSWORD") }
        #expect { try SharedLink.open(settings) } throws: { "\($0)".contains("the password would go to 127.0.0.1:\(port) with sslmode prefer") }
        try await Task.sleep(for: .milliseconds(200))
        var poller = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
        #expect(poll(&poller, 1, 0) == 0, "nobody connected to the impostor")
    }

    @Test func thePasswordFileIsReadOnlyWhenNobodyElseCouldHaveChosenIt() throws {
        let folder = NSTemporaryDirectory() + "swiftdeploy-pw-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: false)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let file = "\(folder)/password", link = "\(folder)/link"
        _ = FileManager.default.createFile(atPath: file, contents: Data("s3cret\n".utf8), attributes: [.posixPermissions: 0o600])
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: file)
        func read(_ path: String) throws -> String? {
            try SharedLink.password(SharedGuardSettings(url: "postgres://guard@x/y?host=/run", passwordFile: path, edge: "edge-a"))
        }
        #expect(try read(file) == "s3cret")
        #expect { try read(link) } throws: { "\($0)".contains("is a symbolic link; name the file itself") }
        #expect { try read(folder) } throws: { "\($0)".contains("is not a regular file") }
        chmod(file, 0o640)
        #expect { try read(file) } throws: { "\($0)".contains("may be read by others (mode 640)") }
        chmod(file, 0o600)
        if geteuid() == 0 {
            chown(file, 65534, 65534)
            #expect { try read(file) } throws: { "\($0)".contains("belongs to another user (uid 65534)") }
        }
    }
}
