import Foundation
import GuardService
import Spawn
import TestSupport
import Testing

/// Three guard daemons, each in a network namespace of its own with its own nftables table, share
/// their decisions through a real PostgreSQL 15 (a private cluster on a unix socket).
@Suite(.serialized, .enabled(if: NamespacePair.isRoot, "needs root: nftables in network namespaces and a PostgreSQL cluster"))
struct SharedDecisions {
    /// One edge: a namespace, a directory with its manifest and access log, a daemon.
    final class Edge: @unchecked Sendable {
        let name: String
        let namespace: String
        let directory: String
        let database: PostgresTestCluster
        var pid: pid_t?

        init(_ name: String, database: PostgresTestCluster) throws {
            self.name = name
            self.database = database
            namespace = "sde\(name)\(String(UInt16.random(in: 0..<UInt16.max), radix: 16))"
            directory = TestSupport.temporaryDirectory("edge-\(name)")
            try sh("ip netns add \(namespace) && ip -n \(namespace) link set lo up")
            FileManager.default.createFile(atPath: "\(directory)/access.log", contents: nil)
            try """
                name: site
                services: { app: { command: [swiftdeploy-demo], port: 3000 } }
                guard:
                  log: access.log
                  enforcer: nftables
                  shared: { url: "\(database.url)", edge: \(name) }
                """.write(toFile: manifest, atomically: true, encoding: .utf8)
        }

        var manifest: String { "\(directory)/swiftdeploy.yaml" }
        var output: String { (try? String(contentsOfFile: "\(directory)/guard.out", encoding: .utf8)) ?? "" }

        func start() async throws {
            let before = output.count
            pid = try ChildProcess.spawn(["ip", "netns", "exec", namespace, TestSupport.product("swiftdeploy"), "guard", "run", "-f", manifest],
                                         environment: ["SWIFTDEPLOY_GUARD_DB_PASSWORD": database.password], logFile: "\(directory)/guard.out")
            for _ in 0..<200 where !output.dropFirst(before).contains("guard: following") { try await Task.sleep(for: .milliseconds(50)) }
            #expect(output.dropFirst(before).contains("guard: following"), "edge \(name) did not start:\n\(output)")
        }

        func kill9() {
            guard let pid else { return }
            // `ip netns exec` execs the daemon, so the pid is the daemon's own.
            ChildProcess.signal(pid, SIGKILL)
            self.pid = nil
        }

        /// The addresses in this edge's kernel set.
        func kernelSet() -> String {
            (try? sh("ip netns exec \(namespace) nft list set inet swiftdeploy banned4")) ?? ""
        }

        func ban(_ address: String, duration: String = "10m") throws {
            try guardCommand("bans add \(address) --duration \(duration)")
        }

        /// `swiftdeploy guard ARGUMENTS` on this edge (in its namespace, with the database password).
        @discardableResult
        func guardCommand(_ arguments: String) throws -> String {
            try sh("cd \(directory) && ip netns exec \(namespace) env SWIFTDEPLOY_GUARD_DB_PASSWORD=\(database.password) "
                + "\(TestSupport.product("swiftdeploy")) guard \(arguments)")
        }

        /// `count` requests from `address`, stamped now, written to the edge's log at once.
        func flood(from address: String, count: Int) throws {
            try append((0..<count).map { (address, "/page/\($0)", "flood/1.0") })
        }

        /// One request from each of `clients` (at most 250) addresses in the /24 `prefix`, stamped now:
        /// many people reading, nobody misbehaving.
        func visitors(_ clients: Int, prefix: String) throws {
            try append((0..<clients).map { ("\(prefix).\($0 % 250 + 1)", "/", "Mozilla/5.0 reader") })
        }

        /// Successful GETs, stamped now, appended to the edge's access log in one write.
        func append(_ requests: [(address: String, uri: String, agent: String)]) throws {
            let now = Date().timeIntervalSince1970, stamp = ISO8601DateFormatter().string(from: Date())
            let text = requests.map { request in
                "{\"time\":\"\(stamp)\",\"msec\":\(now),\"remote_addr\":\"\(request.address)\",\"xff\":\"\","
                    + "\"method\":\"GET\",\"uri\":\"\(request.uri)\",\"status\":200,\"bytes\":512,\"request_time\":0.001,"
                    + "\"upstream_response_time\":\"0.001\",\"upstream\":\"stable\",\"ua\":\"\(request.agent)\"}\n"
            }.joined()
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: "\(directory)/access.log"))
            try handle.seekToEnd()
            try handle.write(contentsOf: Data(text.utf8))
            try handle.close()
        }

        /// This edge's audit lines for site-wide alerts.
        var siteAlerts: [String] {
            let audit = (try? String(contentsOfFile: "\(directory)/.swiftdeploy/guard/guard-audit.log", encoding: .utf8)) ?? ""
            return audit.split(separator: "\n").map(String.init).filter { $0.contains("GLOBAL_ANOMALY") }
        }

        func remove() {
            kill9()
            _ = try? sh("ip netns del \(namespace)")
            try? FileManager.default.removeItem(atPath: directory)
        }

        @discardableResult
        func sh(_ command: String) throws -> String {
            let result = try ChildProcess.run(["/bin/sh", "-c", command])
            guard result.status == 0 else { throw ShellFailure(description: "\(command): \(result.output)") }
            return result.output
        }
    }

    /// Waits (bounded by `limit`) until every edge's kernel set says `present` for `address`; returns the time it took.
    func until(_ edges: [Edge], hold address: String, _ present: Bool = true, within limit: Duration) async throws -> Duration? {
        let started = ContinuousClock.now
        while ContinuousClock.now - started < limit {
            if edges.allSatisfy({ $0.kernelSet().contains(address) == present }) { return ContinuousClock.now - started }
            try await Task.sleep(for: .milliseconds(20))
        }
        return nil
    }

    @Test func threeEdgesShareBansThroughOutagesCrashesAndExpiry() async throws {
        let database = try PostgresTestCluster.start("shared")
        defer { database.remove() }
        let edges = try ["a", "b", "c"].map { try Edge($0, database: database) }
        defer { edges.forEach { $0.remove() } }
        let (a, b, c) = (edges[0], edges[1], edges[2])
        for edge in edges { try await edge.start() }

        // A flood on edge A: A bans it, and B and C have it in their kernel sets within a second.
        try a.flood(from: "203.0.113.7", count: 3000)
        #expect(try await until([a], hold: "203.0.113.7", within: .seconds(10)) != nil, "A banned the flood:\n\(a.output)")
        let spread = try await until([b, c], hold: "203.0.113.7", within: .seconds(1))
        #expect(spread != nil, "B and C within 1 s:\nB: \(b.kernelSet())\nC: \(c.kernelSet())")
        #expect(try database.query("SELECT edge || ' ' || action || ' ' || offence FROM guard_decisions WHERE address = '203.0.113.7'") == "a ban 1")
        // B's bans list is the site's, and names the edge that decided; its /metrics shows the link and the fleet.
        let listed = try b.guardCommand("bans list --json")
        let bans = try? JSONDecoder().decode([ListedBan].self, from: Data(listed.utf8))
        #expect(bans?.map(\.ip) == ["203.0.113.7"] && bans?.first?.edge == "a" && bans?.first?.offence == 1, "\(listed)")
        var metrics = ""
        for _ in 0..<80 where !["a", "b", "c"].allSatisfy({ metrics.contains("guard_edge_bans_active{edge=\"\($0)\"}") }) {  // bounded: 8 s
            try await Task.sleep(for: .milliseconds(100))
            metrics = (try? b.sh("ip netns exec \(b.namespace) curl -s -m 1 http://127.0.0.1:9090/metrics")) ?? ""
        }
        #expect(metrics.contains("guard_shared_connected 1"), "\(metrics)")
        #expect(["a", "b", "c"].allSatisfy { metrics.contains("guard_edge_bans_active{edge=\"\($0)\"}") }, "every edge's heartbeat")

        // The database goes away: B still bans on its own, and A and C get it once it is back.
        try database.stop()
        try b.ban("203.0.113.8")
        #expect(try await until([b], hold: "203.0.113.8", within: .seconds(5)) != nil, "B bans alone:\n\(b.output)")
        #expect(!a.kernelSet().contains("203.0.113.8") && !c.kernelSet().contains("203.0.113.8"))
        try database.restart()
        #expect(try await until([a, c], hold: "203.0.113.8", within: .seconds(10)) != nil, "A and C catch up:\nA: \(a.output)\nC: \(c.output)")
        #expect(try database.query("SELECT count(*) FROM guard_decisions WHERE address = '203.0.113.8'") == "1", "written once")

        // A host of the site without a running daemon bans by hand: the decision goes straight to the site.
        let admin = try Edge("d", database: database)
        defer { admin.remove() }
        try admin.ban("203.0.113.20")
        #expect(try await until(edges, hold: "203.0.113.20", within: .seconds(2)) != nil, "every edge applies it")
        #expect(try database.query("SELECT edge FROM guard_decisions WHERE address = '203.0.113.20'") == "d")
        // Without the password the site's list says what is missing, and shows this host's own store.
        let refused = try admin.sh("cd \(admin.directory) && ip netns exec \(admin.namespace) \(TestSupport.product("swiftdeploy")) guard bans list 2>&1")
        #expect(refused.contains("SWIFTDEPLOY_GUARD_DB_PASSWORD") && refused.contains("203.0.113.20"), "\(refused)")

        // An edge killed mid-ban misses a decision while it is dead, and catches up when it starts.
        c.kill9()
        try a.ban("203.0.113.9")
        #expect(try await until([a, b], hold: "203.0.113.9", within: .seconds(5)) != nil)
        #expect(!c.kernelSet().contains("203.0.113.9"))
        try await c.start()
        #expect(try await until([c], hold: "203.0.113.9", within: .seconds(5)) != nil, "C caught up:\n\(c.output)")

        // A short ban lifts everywhere when it ends.
        try b.ban("203.0.113.10", duration: "2s")
        #expect(try await until(edges, hold: "203.0.113.10", within: .seconds(5)) != nil)
        #expect(try await until(edges, hold: "203.0.113.10", false, within: .seconds(6)) != nil, "lifted everywhere")
        // Offences follow the address across edges: the flood's address, banned again on C, is its offence 2.
        try c.ban("203.0.113.7")
        var offence = ""
        for _ in 0..<50 where offence != "c 2" {  // bounded: 5 s
            try await Task.sleep(for: .milliseconds(100))
            offence = try database.query("SELECT edge || ' ' || offence FROM guard_decisions WHERE address = '203.0.113.7' ORDER BY id DESC LIMIT 1")
        }
        #expect(offence == "c 2")
    }

    /// The site's traffic is judged on its total: 25 minutes of normal history (10 req/s on each of
    /// three edges) is in the shared table, then every edge's traffic rises fivefold at once. No
    /// edge's own baseline is warm; the site's is, and the site raises exactly one alert, sent by
    /// one edge.
    /// A row no real decision could be (issue 27, H1: `since` = Int64.min stopped every edge with an
    /// overflow trap, for good): the schema refuses it, and a row written anyway (by a table owner
    /// who dropped the check) is skipped and said by a running edge, which goes on banning.
    @Test func anImpossibleRowIsRefusedAndNeverStopsAnEdge() async throws {
        let database = try PostgresTestCluster.start("rows")
        defer { database.remove() }
        let edge = try Edge("r", database: database)
        defer { edge.remove() }
        try await edge.start()
        let bad = """
            INSERT INTO guard_decisions (edge, action, address, since, until, offence, reason, condition)
            VALUES ('x', 'ban', '198.51.100.66', -9223372036854775808, NULL, 1, 'flood', 'forged')
            """
        #expect(throws: (any Error).self, "the schema's check refuses it") { try database.query(bad) }
        _ = try database.query("ALTER TABLE guard_decisions DROP CONSTRAINT guard_decisions_real")
        _ = try database.query(bad)
        _ = try database.query("""
            INSERT INTO guard_decisions (edge, action, address, since, until, offence, reason, condition)
            VALUES (E'x\\n[2026-01-01T00:00:00Z] UNBAN ip=192.0.2.1', 'ban', '198.51.100.67', extract(epoch from now())::bigint, NULL, 1, 'flood', 'forged')
            """)
        for _ in 0..<100 where !edge.output.contains("skipped") { try await Task.sleep(for: .milliseconds(50)) }
        #expect(edge.output.contains("shared decisions: skipped"), "the edge says it skipped the rows:\n\(edge.output)")
        // Still alive, past a recalc: it bans a flood and does not hold the forged addresses.
        try await Task.sleep(for: .seconds(2))
        try edge.flood(from: "203.0.113.8", count: 3000)
        #expect(try await until([edge], hold: "203.0.113.8", within: .seconds(10)) != nil, "the edge goes on banning:\n\(edge.output)")
        #expect(!edge.kernelSet().contains("198.51.100.66") && !edge.kernelSet().contains("198.51.100.67"))
    }

    @Test func theSiteRaisesOneAlertForTrafficSpreadOverEveryEdge() async throws {
        let database = try PostgresTestCluster.start("site")
        defer { database.remove() }
        let edges = try ["a", "b", "c"].map { try Edge($0, database: database) }
        defer { edges.forEach { $0.remove() } }
        // The first start migrates the schema; the history goes in as the edges' own publishing would
        // have written it, and restarted edges learn the site's normal from the table.
        for edge in edges { try await edge.start() }
        edges.forEach { $0.kill9() }
        let now = Int(Date().timeIntervalSince1970)
        _ = try database.query("""
            INSERT INTO guard_traffic (second, edge, requests, errors)
            SELECT s, e, 8 + (s % 5), 0 FROM generate_series(\(now - 1500), \(now - 10)) AS s, unnest(ARRAY['a', 'b', 'c']) AS e
            ON CONFLICT DO NOTHING
            """)
        for edge in edges { try await edge.start() }
        // Fifteen seconds of 200 req/s on every edge (600 for the site against its normal of 30).
        for second in 0..<15 {
            for (index, edge) in edges.enumerated() { try edge.visitors(200, prefix: "198.\(18 + index % 2).\(index * 40 + second)") }
            try await Task.sleep(for: .seconds(1))
        }
        var raised = "0"
        for _ in 0..<100 where raised == "0" {  // bounded: 10 s
            raised = try database.query("SELECT count(*) FROM guard_site_alerts WHERE kind = 'traffic'")
            try await Task.sleep(for: .milliseconds(100))
        }
        let traffic = try database.query("SELECT second, edge, requests FROM guard_traffic WHERE second > \(now) ORDER BY second, edge")
        #expect(raised == "1", "one site alert; the site's recent seconds:\n\(traffic)")
        // Every edge judged the same seconds; give the others time to have raised theirs, then count.
        try await Task.sleep(for: .seconds(3))
        let alerts = edges.flatMap(\.siteAlerts)
        #expect(alerts.count == 1, "exactly one edge sent it: \(alerts)")
        #expect(alerts.first?.contains("condition=site ") == true && alerts.first?.contains("edges=3") == true, "\(alerts)")
        #expect(try database.query("SELECT count(*) FROM guard_site_alerts") == "1")
        #expect(try database.query("SELECT count(*) FROM guard_decisions") == "0", "readers were not banned")
        let metrics = try edges[0].sh("ip netns exec \(edges[0].namespace) curl -s -m 1 http://127.0.0.1:9090/metrics")
        #expect(metrics.contains("guard_site_edges_reporting 3"), "\(metrics)")
    }

    /// An existing PostgreSQL reached over TLS (`sslmode=verify-full`): the server's certificate is
    /// checked against the CA the URL names. The right CA reads the site's bans; another CA is
    /// refused with the reason, and the command falls back to the host's own store.
    @Test func verifyFullTrustsOnlyTheNamedCertificateAuthority() throws {
        let database = try PostgresTestCluster.start("tls", tls: true)
        defer { database.remove() }
        let url = try #require(database.tlsURL)
        let directory = TestSupport.temporaryDirectory("tls-edge")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let cli = TestSupport.product("swiftdeploy")
        func list(_ url: String) throws -> String {
            try """
                name: site
                services: { app: { command: [swiftdeploy-demo], port: 3000 } }
                guard: { log: access.log, enforcer: dry-run, shared: { url: "\(url)", edge: tls } }
                """.write(toFile: "\(directory)/swiftdeploy.yaml", atomically: true, encoding: .utf8)
            return try ChildProcess.run(["/bin/sh", "-c", "cd \(directory) && SWIFTDEPLOY_GUARD_DB_PASSWORD=\(database.password) \(cli) guard bans list 2>&1"]).output
        }
        _ = try list(url)  // migrates the schema over TLS
        _ = try database.query("""
            INSERT INTO guard_decisions (edge, action, address, since, until, offence, reason, condition)
            VALUES ('a', 'ban', '192.0.2.50', extract(epoch from now())::bigint, NULL, 1, 'manual', 'manual')
            """)
        let trusted = try list(url)
        #expect(trusted.contains("192.0.2.50") && trusted.contains("permanent"), "\(trusted)")

        let otherCA = "\(directory)/other-ca.crt"
        let made = try ChildProcess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=someone else",
                                         "-keyout", "\(directory)/other-ca.key", "-out", otherCA])
        #expect(made.status == 0, "\(made.output)")
        let refused = try list(url.replacingOccurrences(of: "sslrootcert=\(database.directory)/ca.crt", with: "sslrootcert=\(otherCA)"))
        #expect(refused.contains("did not answer") && refused.contains("certificate"), "the reason is the certificate:\n\(refused)")
        #expect(refused.contains("no active bans"), "and the host's own store is shown:\n\(refused)")
    }
}
