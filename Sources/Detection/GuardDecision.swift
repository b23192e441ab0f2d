import CPrefetch
import Foundation
import Telemetry
import Vocabulary

/// The rule behind a ban: a behaviour rule, a learned rate rule, or a person.
public enum GuardRule: String, Sendable, Codable, CodingKeyRepresentable, CaseIterable {
    case flood, scanner, bruteForce = "brute_force", scraper, badAgent = "bad_agent"
    case zScore = "z_score", multiplier, errorSurge = "error_surge"
    case manual
    /// A cohort of quiet addresses banned as a range (issue 30).
    case cohort
}

/// The kinds of site-wide alert: the traffic against its learned normal, and login failures spread
/// over many addresses.
public enum GlobalAlert: String, Sendable, Codable {
    case traffic
    case credentialStuffing = "credential_stuffing"
}

/// One thing the guard decided, with everything needed to explain it afterwards.
public struct GuardDecision: Sendable, Equatable {
    public enum Action: String, Sendable, Codable {
        case ban
        case unban
        case globalAnomaly = "global_anomaly"
        case baselineRecalc = "baseline_recalc"
        /// Too many distinct addresses to track: the guard alerts instead of growing without bound.
        case trackingCap = "tracking_cap"
        /// A cohort of quiet addresses found (its naked clients challenged), or released.
        case cohort
    }

    public var at: Int
    public var action: Action
    public var ip: IPAddress?
    /// Ban length in seconds; nil is permanent (and for actions without a length).
    public var duration: Int?
    public var condition: String
    /// The observed rate (req/s over the window): the client's, or the site's for global decisions.
    public var rate: Double
    /// What that rate was compared with: the client's expected rate, or the site's learned mean.
    public var baseline: Double
    /// For bans: the offence number; for unbans: the length the next ban would have (nil = permanent).
    public var offence: Int = 0
    public var nextDuration: Int?? = .none
    /// For bans: the rule that decided it.
    public var rule: GuardRule?
    /// For detected bans: the log timestamp of the line that decided it (detection latency is
    /// measured from there).
    public var observedAt: Double?
    /// The edge that decided, when another edge of the site did (shared through guard.shared);
    /// nil for this edge's own decisions, the only ones it announces and alerts on.
    public var edge: String?
    /// For global anomalies: which kind (an edge of a shared site raises each kind once for the site).
    public var alert: GlobalAlert?
    /// For bans: the ban made or adopted; for unbans: the ban lifted. With `offenceRecord` (the
    /// address's record after a ban), what the daemon saves and enforces: it never reads the ban
    /// book back, so what it acts on is what was decided.
    public var ban: BanBook.Ban?
    public var offenceRecord: BanBook.Offence?
    /// For cohort decisions and cohort bans: the cohort.
    public var cohort: CohortKey?

    /// What a ban or unban holds: the ban's client or range; the address for other decisions.
    public var target: BanTarget? { ban?.target ?? ip.map(BanTarget.init(client:)) }

    public init(at: Int, action: Action, ip: IPAddress?, duration: Int?, condition: String, rate: Double, baseline: Double,
                offence: Int = 0, nextDuration: Int?? = .none) {
        self.at = at
        self.action = action
        self.ip = ip
        self.duration = duration
        self.condition = condition
        self.rate = rate
        self.baseline = baseline
        self.offence = offence
        self.nextDuration = nextDuration
    }
}
