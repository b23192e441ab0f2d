import Telemetry
import Vocabulary

/// The guard's settings as plain values (the manifest's `guard` section, resolved), so the
/// detection engine depends on nothing but telemetry. Times are seconds.
public struct GuardConfig: Sendable, Equatable {
    public var window: Int = 60
    public var baselineWindow: Int = 1800
    public var recalcEvery: Int = 60
    public var minPoints: Int = 10
    public var meanFloor: Double = 0.1
    /// The least a client is expected to send (pages and API calls per second): no learned rate rule
    /// fires below `multiplier` × this.
    public var clientFloor: Double = 0.5
    /// The quantile of recent clients' window rates that is the expectation for a client.
    public var clientQuantile: Double = 0.99
    public var zScore: Double = 3.0
    public var multiplier: Double = 5.0
    public var errorSurge: Double = 3.0
    public var surgeTightening: Double = 0.5
    /// Ban lengths in seconds for the 1st, 2nd, … offence; nil is permanent.
    public var bans: [Int?] = [600, 1800, 7200, nil]
    public var forgiveAfter: Int = 86400
    public var allow: [CIDR] = [CIDR("127.0.0.0/8")!, CIDR("::1")!]
    /// Trusted proxies and the host's own addresses: never banned, never learned from.
    public var protected: [CIDR] = []
    public var maxTrackedIPs: Int = 200_000
    /// Seconds between two global-anomaly alerts.
    public var globalCooldown: Int = 300
    /// An IP with fewer requests than this in its window is never judged by the learned rules.
    public var minRequests: Int = 10
    public var rules = DetectionRules()

    public init() {}

    func isAllowed(_ address: IPAddress) -> Bool { allow.contains { $0.contains(address) } }
    func isProtected(_ address: IPAddress) -> Bool { isAllowed(address) || protected.contains { $0.contains(address) } }
}
