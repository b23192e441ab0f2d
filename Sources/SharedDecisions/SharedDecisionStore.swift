import Foundation
import Logging
import PostgresNIO
import Vocabulary

/// The site's decisions in PostgreSQL: every edge appends its bans and unbans to one table and
/// announces them with NOTIFY; the others read what is new by id. Notifications are only a hint:
/// reading by id from the last one seen is what makes an edge complete, so a dropped connection
/// loses nothing. The schema is versioned and migrated by the tool.
public final class SharedDecisionStore: Sendable {
    /// The NOTIFY channel; the payload is the highest id just written.
    public static let channel = "swiftdeploy_guard"
    public static let schemaVersion = 2

    public let url: DatabaseURL
    private let client: PostgresClient
    private let running: Task<Void, Never>
    private let logger: Logger

    private let problems = ConnectionProblems()

    /// - Parameter password: from `guard.shared.password_file` or the environment; nil for trust or peer authentication.
    public init(url: DatabaseURL, password: String?) throws(SharedStoreError) {
        self.url = url
        logger = problems.logger
        let client = PostgresClient(configuration: try url.configuration(password: password), backgroundLogger: logger)
        self.client = client
        running = Task { await client.run() }
    }

    deinit { running.cancel() }

    /// Stops the connections.
    public func close() { running.cancel() }

    /// Runs `body`, or throws when it takes longer than `seconds` (an unreachable server must not
    /// hold an edge up: it goes on deciding alone and says so).
    @discardableResult
    func within<T: Sendable>(_ seconds: Double, _ what: String, _ body: @escaping @Sendable () async throws -> T) async throws(SharedStoreError) -> T {
        do {
            return try await withThrowingTaskGroup(of: T?.self) { group in
                group.addTask { try await body() }
                group.addTask {
                    try await Task.sleep(for: .seconds(seconds))
                    return nil
                }
                defer { group.cancelAll() }
                guard let first = try await group.next(), let value = first else {
                    let reason = problems.latest.map { " (last connection attempt: \($0)\(Self.hint(for: $0)))" }
                        ?? " (is the server running and reachable? check guard.shared.url)"
                    throw SharedStoreError("\(what): no answer from \(url.shown) within \(seconds) s\(reason)")
                }
                return value
            }
        } catch let error as SharedStoreError {
            throw error
        } catch {
            throw SharedStoreError("\(what) on \(url.shown) failed: \(String(reflecting: error))")
        }
    }

    /// What to do about a connection error postgres-nio reported, as far as it tells.
    static func hint(for problem: String) -> String {
        let hints = [
            ("Password", "give the password in guard.shared.password_file or SWIFTDEPLOY_GUARD_DB_PASSWORD"),
            ("28P01", "the password or the role is wrong"),
            ("CERTIFICATE_VERIFY_FAILED", "the server's certificate is not signed by the CA in sslrootcert, or does not name the URL's host"),
            ("28000", "pg_hba.conf refuses this role, database or address (or asks for TLS: set sslmode)"),
            ("3D000", "the database does not exist"),
        ]
        return hints.first { problem.contains($0.0) }.map { "; \($0.1)" } ?? ""
    }

    // MARK: Schema

    /// Brings the schema to the current version (once, whichever edge comes first: the migration
    /// holds an advisory lock).
    public func migrate() async throws(SharedStoreError) {
        try await within(5, "migrating the shared schema") { [client, logger] in
            try await client.withTransaction(logger: logger) { connection in
                try await connection.query("SELECT pg_advisory_xact_lock(7420113)", logger: logger)
                try await connection.query("""
                    CREATE TABLE IF NOT EXISTS swiftdeploy_guard_schema (
                        version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())
                    """, logger: logger)
                var applied = 0
                for try await version in try await connection.query("SELECT coalesce(max(version), 0) FROM swiftdeploy_guard_schema", logger: logger).decode(Int.self) {
                    applied = version
                }
                for (version, statements) in Self.migrations.enumerated() where version + 1 > applied {
                    for statement in statements { try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger) }
                    try await connection.query("INSERT INTO swiftdeploy_guard_schema (version) VALUES (\(version + 1))", logger: logger)
                }
            }
        }
    }

    /// Each version's statements, in order; a released version is never changed, only followed.
    static let migrations: [[String]] = [
        [
            """
            CREATE TABLE guard_decisions (
                id bigserial PRIMARY KEY,
                edge text NOT NULL,
                action text NOT NULL CHECK (action IN ('ban', 'unban')),
                address text NOT NULL,
                since bigint NOT NULL,
                until bigint,
                offence integer NOT NULL,
                reason text NOT NULL,
                condition text NOT NULL,
                decided_at timestamptz NOT NULL DEFAULT now())
            """,
            "CREATE INDEX guard_decisions_by_address ON guard_decisions (address, id DESC)",
            """
            CREATE TABLE guard_edges (
                edge text PRIMARY KEY,
                heartbeat bigint NOT NULL,
                lines_per_second double precision NOT NULL,
                bans integer NOT NULL)
            """,
        ],
        [
            """
            CREATE TABLE guard_traffic (
                second bigint NOT NULL,
                edge text NOT NULL,
                requests integer NOT NULL,
                errors integer NOT NULL,
                PRIMARY KEY (second, edge))
            """,
            """
            CREATE TABLE guard_site_alerts (
                id bigserial PRIMARY KEY,
                kind text NOT NULL,
                at bigint NOT NULL,
                edge text NOT NULL,
                condition text NOT NULL,
                raised_at timestamptz NOT NULL DEFAULT now())
            """,
            "CREATE INDEX guard_site_alerts_by_kind ON guard_site_alerts (kind, at DESC)",
        ],
        [
            // What a real decision holds (`SharedDecision.problem`, checked again by every edge):
            // rows written from now on must hold it; rows already there are left for the edges to skip.
            """
            ALTER TABLE guard_decisions ADD CONSTRAINT guard_decisions_real CHECK (
                since BETWEEN 946684800 AND 4102444799
                AND (until IS NULL OR until BETWEEN since AND 4102444799)
                AND offence BETWEEN 1 AND 1000000
                AND length(edge) <= 255 AND length(address) <= 64 AND length(reason) <= 1024 AND length(condition) <= 1024
                AND edge !~ '[[:cntrl:]]' AND address !~ '[[:cntrl:]]' AND reason !~ '[[:cntrl:]]' AND condition !~ '[[:cntrl:]]'
            ) NOT VALID
            """,
        ],
    ]

    // MARK: Decisions

    /// Appends decisions (one statement, one transaction) and announces them; returns their ids in order.
    @discardableResult
    public func publish(_ decisions: [SharedDecision]) async throws(SharedStoreError) -> [Int64] {
        guard !decisions.isEmpty else { return [] }
        let edges = decisions.map(\.edge), actions = decisions.map(\.action.rawValue), addresses = decisions.map(\.address)
        let since = decisions.map { Int64($0.since) }, until = decisions.map { Int64($0.until ?? -1) }
        let offences = decisions.map { Int32(clamping: $0.offence) }, reasons = decisions.map(\.reason), conditions = decisions.map(\.condition)
        return try await within(5, "writing \(decisions.count) decisions") { [client, logger] in
            try await client.withTransaction(logger: logger) { connection in
                var ids: [Int64] = []
                let rows = try await connection.query("""
                    INSERT INTO guard_decisions (edge, action, address, since, until, offence, reason, condition)
                    SELECT e, a, d, s, NULLIF(u, -1), o, r, c
                    FROM unnest(\(edges)::text[], \(actions)::text[], \(addresses)::text[], \(since)::bigint[], \(until)::bigint[],
                                \(offences)::integer[], \(reasons)::text[], \(conditions)::text[]) AS t(e, a, d, s, u, o, r, c)
                    RETURNING id
                    """, logger: logger)
                for try await id in rows.decode(Int64.self) { ids.append(id) }
                if let last = ids.max() {
                    try await connection.query("SELECT pg_notify(\(Self.channel), \(String(last)))", logger: logger)
                }
                return ids
            }
        }
    }

    /// Decisions written after `id` by other edges than `excluding`, oldest first, at most `limit`.
    public func decisions(after id: Int64, excluding edge: String, limit: Int = 10_000) async throws(SharedStoreError) -> [SharedDecision] {
        try await within(5, "reading new decisions") { [client, logger] in
            try await Self.rows(client.query("""
                SELECT id, edge, action, address, since, until, offence, reason, condition FROM guard_decisions
                WHERE id > \(id) AND edge <> \(edge) ORDER BY id LIMIT \(limit)
                """, logger: logger))
        }
    }

    /// The latest decision for every address (a ban in force, an ended or lifted one, with its
    /// offence number) whose offences still count at `second`, and the highest id: what a starting
    /// edge adopts before it decides anything.
    public func state(at second: Int, forgiveAfter: Int) async throws(SharedStoreError) -> (latest: [SharedDecision], through: Int64) {
        try await within(30, "reading the shared state") { [client, logger] in
            var through: Int64 = 0
            for try await id in try await client.query("SELECT coalesce(max(id), 0) FROM guard_decisions", logger: logger).decode(Int64.self) {
                through = id
            }
            let latest = try await Self.rows(client.query("""
                SELECT * FROM (
                    SELECT DISTINCT ON (address) id, edge, action, address, since, until, offence, reason, condition
                    FROM guard_decisions WHERE id <= \(through) ORDER BY address, id DESC) AS latest
                WHERE (action = 'ban' AND (until IS NULL OR until > \(Int64(second)))) OR since > \(Int64(second - forgiveAfter))
                ORDER BY id
                """, logger: logger))
            return (latest, through)
        }
    }

    private static func rows(_ sequence: PostgresRowSequence) async throws -> [SharedDecision] {
        var decisions: [SharedDecision] = []
        let typed = sequence.decode((Int64, String, String, String, Int64, Int64?, Int32, String, String).self)
        for try await (id, edge, action, address, since, until, offence, reason, condition) in typed {
            guard let action = SharedDecision.Action(rawValue: action) else { continue }
            decisions.append(SharedDecision(id: id, edge: edge, action: action, address: address, since: Int(since), until: until.map(Int.init),
                                            offence: Int(offence), reason: reason, condition: condition))
        }
        return decisions
    }

    /// Calls `onNotice` for every NOTIFY on the channel until the connection drops (then throws).
    public func listen(_ onNotice: @escaping @Sendable () -> Void) async throws {
        try await client.withConnection { connection in
            try await connection.listen(on: Self.channel) { notifications in
                onNotice()  // listening now: whatever was written before is read by id
                for try await _ in notifications { onNotice() }
            }
        }
    }

    // MARK: The site's traffic

    /// Records this edge's closed seconds (a second sent again replaces the first copy).
    public func publish(traffic seconds: [TrafficSecond], from edge: String) async throws(SharedStoreError) {
        guard !seconds.isEmpty else { return }
        let at = seconds.map { Int64($0.second) }, requests = seconds.map { Int32(clamping: $0.requests) }, errors = seconds.map { Int32(clamping: $0.errors) }
        try await within(5, "writing \(seconds.count) seconds of traffic") { [client, logger] in
            try await client.query("""
                INSERT INTO guard_traffic (second, edge, requests, errors)
                SELECT s, \(edge), r, e FROM unnest(\(at)::bigint[], \(requests)::integer[], \(errors)::integer[]) AS t(s, r, e)
                ON CONFLICT (second, edge) DO UPDATE SET requests = EXCLUDED.requests, errors = EXCLUDED.errors
                """, logger: logger)
        }
    }

    /// The newest second `edge` has published (nil: none yet), where it resumes.
    public func lastPublished(by edge: String) async throws(SharedStoreError) -> Int? {
        try await within(5, "reading the last published second") { [client, logger] in
            var last: Int?
            for try await second in try await client.query("SELECT max(second) FROM guard_traffic WHERE edge = \(edge)", logger: logger).decode(Int64?.self) {
                last = second.map(Int.init)
            }
            return last
        }
    }

    /// The site's seconds after `after` up to `through`, summed over the edges, oldest first
    /// (seconds nobody reported are absent: no traffic).
    public func site(after: Int, through: Int) async throws(SharedStoreError) -> [TrafficSecond] {
        guard through > after else { return [] }
        return try await within(5, "reading the site's traffic") { [client, logger] in
            var seconds: [TrafficSecond] = []
            let rows = try await client.query("""
                SELECT second, sum(requests)::bigint, sum(errors)::bigint, count(*)::bigint FROM guard_traffic
                WHERE second > \(Int64(after)) AND second <= \(Int64(through)) GROUP BY second ORDER BY second
                """, logger: logger)
            for try await (second, requests, errors, edges) in rows.decode((Int64, Int64, Int64, Int64).self) {
                seconds.append(TrafficSecond(second: Int(second), requests: Int(requests), errors: Int(errors), edges: Int(edges)))
            }
            return seconds
        }
    }

    /// Claims a site-wide alert of `kind` raised at `at`: nil when this edge is the first to raise
    /// it within `cooldown` seconds (it sends the alert), else the edge that already did.
    public func claimAlert(_ kind: String, at: Int, cooldown: Int, edge: String, condition: String) async throws(SharedStoreError) -> String? {
        try await within(5, "claiming a site alert") { [client, logger] in
            try await client.withTransaction(logger: logger) { connection in
                try await connection.query("SELECT pg_advisory_xact_lock(7420114)", logger: logger)
                let rows = try await connection.query("""
                    SELECT edge FROM guard_site_alerts WHERE kind = \(kind) AND at > \(Int64(at - cooldown)) AND at < \(Int64(at + cooldown))
                    ORDER BY at DESC LIMIT 1
                    """, logger: logger)
                for try await raisedBy in rows.decode(String.self) { return raisedBy }
                try await connection.query("""
                    INSERT INTO guard_site_alerts (kind, at, edge, condition) VALUES (\(kind), \(Int64(at)), \(edge), \(condition))
                    """, logger: logger)
                return nil
            }
        }
    }

    /// Deletes the site's seconds older than `cutoff` (the site's baseline never looks further back).
    public func prune(trafficBefore cutoff: Int) async throws(SharedStoreError) {
        try await within(30, "pruning old traffic") { [client, logger] in
            try await client.query("DELETE FROM guard_traffic WHERE second < \(Int64(cutoff))", logger: logger)
        }
    }

    // MARK: Edges and retention

    /// Records this edge's heartbeat.
    public func heartbeat(_ status: EdgeStatus) async throws(SharedStoreError) {
        try await within(5, "heartbeat") { [client, logger] in
            try await client.query("""
                INSERT INTO guard_edges (edge, heartbeat, lines_per_second, bans)
                VALUES (\(status.edge), \(Int64(status.heartbeat)), \(status.linesPerSecond), \(Int32(clamping: status.bans)))
                ON CONFLICT (edge) DO UPDATE SET heartbeat = EXCLUDED.heartbeat, lines_per_second = EXCLUDED.lines_per_second, bans = EXCLUDED.bans
                """, logger: logger)
        }
    }

    /// Every edge that ever beat, latest heartbeat first.
    public func edges() async throws(SharedStoreError) -> [EdgeStatus] {
        try await within(5, "reading the edges") { [client, logger] in
            var edges: [EdgeStatus] = []
            let rows = try await client.query("SELECT edge, heartbeat, lines_per_second, bans FROM guard_edges ORDER BY heartbeat DESC", logger: logger)
            for try await (edge, heartbeat, rate, bans) in rows.decode((String, Int64, Double, Int32).self) {
                edges.append(EdgeStatus(edge: edge, heartbeat: Int(heartbeat), linesPerSecond: rate, bans: Int(bans)))
            }
            return edges
        }
    }

    /// Deletes decisions that ended (or were lifted) and site alerts raised before `cutoff`; returns
    /// how many decisions.
    @discardableResult
    public func prune(endedBefore cutoff: Int) async throws(SharedStoreError) -> Int {
        try await within(30, "pruning ended decisions") { [client, logger] in
            var count = 0
            let rows = try await client.query("""
                WITH gone AS (
                    DELETE FROM guard_decisions
                    WHERE coalesce(until, CASE WHEN action = 'unban' THEN since END) < \(Int64(cutoff))
                    RETURNING 1)
                SELECT count(*) FROM gone
                """, logger: logger)
            for try await deleted in rows.decode(Int64.self) { count = Int(deleted) }
            try await client.query("DELETE FROM guard_site_alerts WHERE at < \(Int64(cutoff))", logger: logger)
            return count
        }
    }
}
