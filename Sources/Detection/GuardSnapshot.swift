import Vocabulary

/// What the guard looks like at one moment, for the dashboard, its JSON API and `/metrics`:
/// plain values (addresses as text), taken by the daemon once a second.
public struct GuardSnapshot: Sendable, Codable, Equatable {
    /// One busy client.
    public struct Client: Sendable, Codable, Equatable {
        public var ip: String
        /// Requests per second over the window.
        public var rps: Double
        /// What it is expected to send.
        public var expected: Double
        public var z: Double
        public var banned: Bool

        public init(ip: String, rps: Double, expected: Double, z: Double, banned: Bool) {
            (self.ip, self.rps, self.expected, self.z, self.banned) = (ip, rps, expected, z, banned)
        }
    }

    /// One active ban.
    public struct Ban: Sendable, Codable, Equatable {
        public var ip: String
        public var reason: String
        public var offence: Int
        public var since: Int
        /// Unix second it ends; nil is permanent.
        public var until: Int?

        public init(_ ban: BanBook.Ban) {
            (ip, reason, offence, since, until) = (ban.target.description, ban.reason, ban.offence, ban.since, ban.until)
        }
    }

    /// A cohort found suspicious: its naked clients are challenged (issue 30).
    public struct Cohort: Sendable, Codable, Equatable {
        public var key: String
        public var addresses: Int
        public var naked: Int
        public var since: Int
        public var why: String

        public init(_ finding: CohortWatch.Finding) {
            (key, addresses, naked, since, why) = (finding.key.description, finding.addresses, finding.naked, finding.since, finding.why)
        }
    }

    /// The guard's clock (Unix seconds).
    public var at: Int
    public var startedAt: Int
    public var enforcer: String
    public var log: String
    public var lines: Int
    public var badLines: Int
    /// The last malformed lines, as they were (attacker input: shown as text, never as markup).
    public var badSamples: [String]
    /// The format lines are read in, in words (`json`, `auto, recognised as combined`).
    public var logFormat = ""
    /// Malformed lines' share of the last minute's lines.
    public var badLinesRatio = 0.0
    /// While more than 1% of the last minute's lines are malformed: what is wrong and what to do (the
    /// dashboard's banner); nil while the log parses.
    public var readingProblem: String?
    /// Lines the engine's clock placed late (counted at their own second) or stale (totals only), and
    /// the times the log's clock stepped back.
    public var lateLines = 0
    public var staleLines = 0
    public var clockSteps = 0
    /// Bytes of the log not read yet, and how far behind the wall clock the newest line of the last
    /// read was (seconds; nil before the first line).
    public var backlogBytes = 0
    public var lagSeconds: Double?
    public var trackedClients: Int
    /// Requests per second over the global window.
    public var globalRPS: Double
    /// Requests in the last closed second (the chart's newest point).
    public var lastSecond: Baseline.Second?
    public var baseline: Baseline.Summary?
    public var warm: Bool
    /// The z-score threshold, for the chart's band (mean ± z·σ).
    public var zThreshold: Double
    public var top: [Client]
    public var bans: [Ban]
    /// Cohorts flagged now, by key.
    public var cohorts: [Cohort] = []
    /// Bans since the daemon started, by the rule that decided them: z_score, multiplier, error_surge, manual.
    public var bansTotal: [GuardRule: Int]
    /// Changes the firewall has not taken yet (retried every second), and batches it refused.
    public var firewallPending = 0
    public var firewallFailures = 0
    /// The latest audit lines, oldest first.
    public var events: [String]
    /// The site's shared decisions (`guard.shared`): whether the database answers, what waits to
    /// reach it, and every edge's last heartbeat; nil when this edge decides alone.
    public var shared: Shared?

    public struct Shared: Sendable, Equatable, Codable {
        public var edge: String
        public var connected: Bool
        public var pending: Int
        public var problem: String?
        public var edges: [EdgeStatus]
        /// The whole site's traffic (every edge's learnable requests summed): its rate over the
        /// window, its learned normal, and how many edges reported its newest second.
        public var siteRPS: Double = 0
        public var siteBaseline: Baseline.Summary?
        public var siteEdges = 0

        public init(edge: String, connected: Bool, pending: Int, problem: String?, edges: [EdgeStatus]) {
            (self.edge, self.connected, self.pending, self.problem, self.edges) = (edge, connected, pending, problem, edges)
        }
    }

    public init(at: Int, startedAt: Int, enforcer: String, log: String) {
        (self.at, self.startedAt, self.enforcer, self.log) = (at, startedAt, enforcer, log)
        (lines, badLines, badSamples, trackedClients, globalRPS) = (0, 0, [], 0, 0)
        (lastSecond, baseline, warm, zThreshold) = (nil, nil, false, 3)
        (top, bans, bansTotal, events) = ([], [], [:], [])
    }
}
