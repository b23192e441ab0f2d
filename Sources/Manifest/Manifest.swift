import EdgeRules
import Vocabulary

/// The whole of `swiftdeploy.yaml`: the single source of truth from which every generated
/// file and every runtime decision is derived. Defaults are filled in by `ManifestLoader`.
public struct Manifest: Sendable, Equatable {
    public var name: String
    /// State directory (pids, logs, nginx prefix, history, guard.db), absolute.
    public var stateDirectory: String
    public var runtime: RuntimeKind
    public var service: Service
    public var nginx: NginxSettings
    public var network: NetworkSettings
    public var policy: PolicySettings
    public var guardSettings: GuardSettings
    public var dashboard: DashboardSettings
    /// Commands run around lifecycle events (`hooks:`), by event.
    public var hooks: [HookEvent: Hook] = [:]
    /// The manifest file this was read from (absolute), and its directory, against which relative paths resolve.
    public var file: String
    public var directory: String
}

/// When a hook runs: before a change (a failing pre-hook aborts it) or after it.
public enum HookEvent: String, Sendable, CaseIterable, Codable {
    case preDeploy = "pre_deploy", postDeploy = "post_deploy", prePromote = "pre_promote", postPromote = "post_promote"
    case onRollback = "on_rollback"

    public var isPre: Bool { self == .preDeploy || self == .prePromote }
}

/// One hook: a shell command (run with /bin/sh -c in the manifest's folder) and how long it may take.
public struct Hook: Sendable, Equatable {
    /// The command run, `${NAME}` substituted.
    public var run: String
    /// The command as the manifest writes it (`${NAME}` kept): what is printed, kept in history and
    /// sent to webhooks, so a secret substituted into the command goes nowhere but the shell.
    public var shown: String
    public var timeout: Duration

    public init(run: String, shown: String? = nil, timeout: Duration = .seconds(60)) {
        (self.run, self.shown, self.timeout) = (run, shown ?? run, timeout)
    }
}

public enum RuntimeKind: String, Sendable, CaseIterable {
    case local
    case compose
}

/// The application nginx fronts: its stable track and, optionally, a canary beside it.
public struct Service: Sendable, Equatable {
    public var name: String
    public var image: String?
    public var command: [String]?
    public var port: Int
    public var version: String
    public var env: [String: String]
    /// `env_file`: secrets for every instance, read when it starts (absolute path).
    public var envFile: String? = nil
    public var healthcheck: Healthcheck
    public var canary: Canary?
}

public struct Healthcheck: Sendable, Equatable {
    public var path: String
    public var timeout: Duration
    public var interval: Duration
}

/// The canary track: another version of the same service taking `weight`% of traffic.
public struct Canary: Sendable, Equatable {
    public var image: String?
    public var command: [String]?
    public var version: String
    public var weight: Int
    public var port: Int
    public var env: [String: String]
    /// The canary's own `env_file`, else the service's.
    public var envFile: String? = nil
    /// Requests that always go to the canary (A/B tests, testers who want it on purpose).
    public var match: CanaryMatch? = nil
}

/// `canary.match`: a request with any of these header or cookie values goes to the canary,
/// whatever its weight (0 included); the rest are split by weight.
public struct CanaryMatch: Sendable, Equatable {
    public var headers: [String: String]
    public var cookies: [String: String]

    public init(headers: [String: String] = [:], cookies: [String: String] = [:]) { (self.headers, self.cookies) = (headers, cookies) }
}

public struct NginxSettings: Sendable, Equatable {
    public var port: Int
    public var listen: String
    public var proxyTimeout: Duration
    public var contact: String
    public var binary: String
    /// Keep each client on one track (split by client address) rather than splitting per request.
    public var sticky: Bool
    public var image: String
    /// `nginx.tls`: HTTPS at the edge; nil serves plain HTTP on `port`.
    public var tls: EdgeTLSSettings? = nil
}

/// HTTPS at the edge: the certificate and key nginx serves, the port it listens on, and what
/// plain HTTP on `nginx.port` does (redirect, or serve as well).
public struct EdgeTLSSettings: Sendable, Equatable {
    /// PEM: the leaf, then its intermediates (certbot's fullchain.pem), absolute.
    public var certificate: String
    /// PEM private key (certbot's privkey.pem), absolute.
    public var key: String
    public var port: Int
    /// Plain HTTP answers 308 to the same URL over HTTPS; false serves it over both.
    public var redirect: Bool
    /// Strict-Transport-Security max-age; zero sends no header.
    public var hsts: Duration

    public init(certificate: String, key: String, port: Int = 443, redirect: Bool = true, hsts: Duration = .seconds(31_536_000)) {
        (self.certificate, self.key, self.port, self.redirect, self.hsts) = (certificate, key, port, redirect, hsts)
    }
}

public struct NetworkSettings: Sendable, Equatable {
    public var name: String
    public var driver: String
}

public enum PolicyEngineKind: String, Sendable, CaseIterable {
    case embedded
    case opa
}

public struct PolicySettings: Sendable, Equatable {
    public var engine: PolicyEngineKind
    public var opaURL: String
    /// Bearer token for OPA (`--authentication=token`); nil sends none.
    public var opaToken: String?
    public var timeout: Duration
    /// Directory of `.rego` files, absolute.
    public var directory: String
    public var infrastructure: InfrastructureLimits
    public var canarySafety: CanarySafetyLimits
}

/// Host health limits checked before any deploy.
public struct InfrastructureLimits: Sendable, Equatable {
    public var maxCPULoad: Double
    public var minDiskFreeGB: Double
    public var maxMemUsedPct: Double
}

/// Live limits a canary must stay inside to be promoted.
public struct CanarySafetyLimits: Sendable, Equatable {
    /// A fraction, 0...1 (written as `0.05` or `5%`).
    public var maxErrorRate: Double
    public var maxP99LatencyMS: Double
    public var minRequests: Int
    public var window: Duration
    /// How long a step of `promote --steps` may wait for `minRequests` before it counts as failed.
    public var deadline: Duration = .seconds(600)
    /// Time between two checks of the canary during `promote` (the CLI's `--interval` overrides it).
    public var interval: Duration = .seconds(30)
    /// Checks in a row that must pass before a step (or a single promote) goes ahead.
    public var iterations: Int = 1
    /// Failed checks during one promotion that roll it back (a single promote: that refuse it).
    public var threshold: Int = 1
    /// The user's own measurements, in the policy's input as `metrics.NAME`.
    public var metrics: [CanaryMetric] = []
}

public enum EnforcerKind: String, Sendable, CaseIterable {
    case nftables
    case ipset
    case iptables
    case dryRun = "dry-run"

    /// The longest ban this firewall lets expire on its own, in seconds; nil when it has no timeouts.
    public var longestTimeout: Int? {
        switch self {
        case .nftables: FirewallTimeouts.nftables
        case .ipset: FirewallTimeouts.ipset
        case .iptables, .dryRun: nil
        }
    }
}

/// One step of the escalating ban schedule.
public enum BanLength: Sendable, Equatable, CustomStringConvertible {
    case lasting(Duration)
    case permanent

    public var description: String {
        switch self {
        case .lasting(let duration): duration.manifestText
        case .permanent: "permanent"
        }
    }
}

public struct GuardSettings: Sendable, Equatable {
    /// Access log to follow, absolute.
    public var log: String
    public var logFormat: AccessLogFormat
    /// How far behind the newest line a line may be stamped and still count in the short windows
    /// (nginx and Apache stamp a request when it starts or ends, merged logs interleave hosts).
    public var reorderHorizon: Duration
    public var window: Duration
    public var baseline: BaselineSettings
    public var thresholds: Thresholds
    public var bans: [BanLength]
    /// After this long without an offence an IP's ban count starts again from the first step.
    public var forgiveAfter: Duration
    public var enforcer: EnforcerKind
    public var allow: [CIDR]
    public var trustedProxies: [CIDR]
    /// IPv6 clients are grouped by this prefix length (a /64 is usually one subscriber).
    public var ipv6Prefix: Int
    /// Cap on tracked client addresses; beyond it the guard alerts instead of growing.
    public var maxTrackedIPs: Int
    /// Least time between two global-anomaly alerts.
    public var globalCooldown: Duration
    /// A client with fewer requests than this in its window is never judged.
    public var minRequests: Int
    /// The behaviour rules (flood, scanner, brute force, scraper, bad agents, credential stuffing).
    public var rules: DetectionRules
    /// How requests are classified: asset extensions, login paths, probe paths, agent lists.
    public var requests: RequestClassifier
    public var slackWebhook: String?
    public var webhook: String?
    /// The database the site's edges share their decisions through; nil: this edge decides alone.
    public var shared: SharedGuardSettings?
    /// An ip-to-ASN table (`start end asn country name` lines, absolute path): autonomous systems
    /// become cohorts; nil: cohorts are address prefixes only.
    public var asnTable: String?
    /// How cohorts of quiet addresses are judged (`guard.cohorts`); nil: switched off.
    public var cohorts: CohortSettings?
}

/// `guard.shared`: the PostgreSQL database every edge of a site writes its bans and unbans to and
/// applies the others' from.
public struct SharedGuardSettings: Sendable, Equatable {
    /// `postgres://USER@HOST:PORT/DATABASE?sslmode=…`; `?host=/folder` reaches a server on its unix socket.
    public var url: String
    /// A file (readable by root only) holding the password; else SWIFTDEPLOY_GUARD_DB_PASSWORD or PGPASSWORD.
    public var passwordFile: String?
    /// This edge's name in the shared decisions (default: the host name).
    public var edge: String
    /// How long ended decisions are kept before they are deleted.
    public var retention: Duration

    public init(url: String, passwordFile: String? = nil, edge: String, retention: Duration = .seconds(30 * 86_400)) {
        (self.url, self.passwordFile, self.edge, self.retention) = (url, passwordFile, edge, retention)
    }
}

public struct BaselineSettings: Sendable, Equatable {
    public var window: Duration
    public var recalc: Duration
    public var minPoints: Int
    public var meanFloor: Double
    /// The least rate a client is expected to send (pages and API calls per second).
    public var clientFloor: Double
    /// The quantile of recent clients' rates that is a client's expectation.
    public var clientQuantile: Double
}

public struct Thresholds: Sendable, Equatable {
    public var zScore: Double
    public var multiplier: Double
    public var errorSurge: Double
    /// Thresholds are multiplied by this (0...1) while an IP's errors surge.
    public var surgeTightening: Double
}

/// Where the guard's dashboard listens, and the token that guards it.
public struct DashboardSettings: Sendable, Equatable {
    public var listen: String
    public var token: String?

    public init(listen: String, token: String?) {
        self.listen = listen
        self.token = token
    }

    /// The address part of `listen` (brackets of an IPv6 literal removed) and the port.
    public var hostAndPort: (host: String, port: Int) {
        let colon = listen.lastIndex(of: ":")!
        var host = String(listen[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return (host, Int(listen[listen.index(after: colon)...]) ?? 9090)
    }

    /// Whether only this host can reach it (then reading needs no token; actions always do).
    public var bindsLoopback: Bool {
        IPAddress.isLoopback(host: hostAndPort.host)
    }
}

