import SharedDecisions
import Testing

/// `guard.shared`'s URL as libpq reads it, parsed without a server (the TLS modes against a real
/// PostgreSQL are in the end-to-end suite).
@Suite struct DatabaseURLParsing {
    @Test func defaultsFollowLibpqWhereItIsSafe() throws {
        let url = try DatabaseURL("postgres://db.internal/swiftdeploy")
        #expect((url.user, url.host, url.port, url.database) == ("guard", "db.internal", 5432, "swiftdeploy"))
        #expect(url.tls == .verifyFull && url.socketFolder == nil && url.rootCertificate == nil)
        let full = try DatabaseURL("postgresql://edge@10.0.0.5:6543/site?sslmode=verify-full&sslrootcert=/etc/swiftdeploy/db-ca.pem")
        #expect((full.user, full.host, full.port, full.database) == ("edge", "10.0.0.5", 6543, "site"))
        #expect(full.rootCertificate == "/etc/swiftdeploy/db-ca.pem")
        #expect(try DatabaseURL("postgres://guard@localhost").database == "guard", "the database defaults to the user's name")
    }

    @Test func aUnixSocketIsPlainTextAndNamedSo() throws {
        let url = try DatabaseURL("postgres://guard@localhost:5433/swiftdeploy?host=/var/run/postgresql")
        #expect(url.socketFolder == "/var/run/postgresql" && url.tls == .disable && url.port == 5433)
        #expect(url.shown == "postgres://guard@[socket /var/run/postgresql]/swiftdeploy (sslmode disable)")
    }

    @Test(arguments: [
        ("mysql://guard@db/x", "is not a postgres:// URL"),
        ("postgres://guard:hunter2@db/x", "the URL must not hold the password"),
        ("postgres://guard@db/x?sslmode=allow", "sslmode allow is not one of disable, prefer, require, verify-full"),
    ])
    func aWrongURLSaysWhatIsWrong(text: String, problem: String) {
        #expect { try DatabaseURL(text) } throws: { "\($0)".contains(problem) }
    }

    @Test func theShownURLHoldsNoSecret() throws {
        #expect(try DatabaseURL("postgres://guard@db.internal:5432/swiftdeploy?sslmode=verify-full").shown
            == "postgres://guard@db.internal:5432/swiftdeploy (sslmode verify-full)")
    }
}
