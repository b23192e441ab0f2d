import EdgeRules
import Telemetry
import Vocabulary

/// The guard's settings as plain values (the manifest's `guard` section, resolved), so the
/// detection engine depends on nothing but telemetry. Times are seconds.
public struct GuardConfig: Sendable, Equatable {
    public var window = GuardDefaults.window
    /// Seconds a line may be stamped behind the newest and still count in the short windows and
    /// rules (`LogClock`); older lines count in the totals only.
    public var reorderHorizon = GuardDefaults.reorderHorizon
    public var baselineWindow = GuardDefaults.baselineWindow
    public var recalcEvery = GuardDefaults.recalcEvery
    public var minPoints = GuardDefaults.minPoints
    public var meanFloor = GuardDefaults.meanFloor
    /// The least a client is expected to send (pages and API calls per second): no learned rate rule
    /// fires below `multiplier` × this.
    public var clientFloor = GuardDefaults.clientFloor
    /// The least rate (pages and API calls per second, over the window) at which a learned rule may
    /// ban: `multiplier` × `client_floor` (2.5/s by default), above what a person, an office behind
    /// one address or a polling script sends. Error surges tighten the rules, never this.
    public var learnedFloor: Double { multiplier * clientFloor }
    /// The quantile of recent clients' window rates that is the expectation for a client.
    public var clientQuantile = GuardDefaults.clientQuantile
    public var zScore = GuardDefaults.zScore
    public var multiplier = GuardDefaults.multiplier
    public var errorSurge = GuardDefaults.errorSurge
    public var surgeTightening = GuardDefaults.surgeTightening
    /// Ban lengths in seconds for the 1st, 2nd, … offence; nil is permanent.
    public var bans = GuardDefaults.bans
    public var forgiveAfter = GuardDefaults.forgiveAfter
    public var allow = GuardDefaults.allow
    /// Trusted proxies and the host's own addresses: never banned, never learned from.
    public var protected: [CIDR] = []
    public var maxTrackedIPs = GuardDefaults.maxTrackedIPs
    /// Seconds between two global-anomaly alerts.
    public var globalCooldown = GuardDefaults.globalCooldown
    /// An IP with fewer requests than this in its window is never judged by the learned rules.
    public var minRequests = GuardDefaults.minRequests
    public var rules = DetectionRules()
    /// How cohorts of quiet addresses are judged; nil: not at all.
    public var cohorts: CohortSettings? = CohortSettings()

    public init() {}

    /// IPv6 clients are judged (and banned) by this prefix.
    public var ipv6Prefix = GuardDefaults.ipv6Prefix

    /// Whether a client (an IPv4 address, or an IPv6 group) must never be banned or learned from:
    /// an allow-list entry or a protected address lies in it. Banning an IPv6 /64 that holds an
    /// allow-listed host would ban that host too, so overlap is enough.
    public func shields(_ client: IPAddress) -> Bool { shields(BanTarget(client: client)) }

    /// Whether a ban of `target` would reach an allow-list entry or a protected address.
    public func shields(_ target: BanTarget) -> Bool {
        let prefix = target.prefix(ipv6Prefix: ipv6Prefix)
        return (allow + protected).contains { $0.overlaps(target.address, prefix: prefix) }
    }
}
