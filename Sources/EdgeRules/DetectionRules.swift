/// A leaky bucket: a client may do `rate` of something per second for ever, and `burst` more at once.
public struct LeakyBucketRule: Sendable, Equatable {
    public var burst: Double
    /// Per second.
    public var rate: Double

    public init(burst: Double, rate: Double) {
        (self.burst, self.rate) = (burst, rate)
    }

    /// A burst of 0 switches the rule off.
    public var isEnabled: Bool { burst > 0 }

    /// `10/s`, `3/m`, `100/h` → per second; nil when the text is not a rate.
    public static func parseRate(_ text: String) -> Double? {
        let parts = text.filter { $0 != " " }.split(separator: "/")
        guard parts.count == 2, let count = Double(parts[0]), count >= 0 else { return nil }
        switch parts[1] {
        case "s": return count
        case "m": return count / 60
        case "h": return count / 3600
        default: return nil
        }
    }
}

/// The guard's behaviour rules beside its learned rate rules, with their defaults (the manifest's
/// `guard.rules`). All of them work from the first second, before anything is learned.
public struct DetectionRules: Sendable, Equatable {
    /// Pages, API calls and repeated assets: a rate no person sustains.
    public var flood = LeakyBucketRule(burst: 40, rate: 10)
    /// Failed requests (404/403/…) for distinct paths; sensitive probes weigh `probeWeight`.
    public var scanner = LeakyBucketRule(burst: 30, rate: 10.0 / 60)
    public var probeWeight: Double = 5
    /// Login failures (POSTs to `login_paths` that do not redirect).
    public var bruteForce = LeakyBucketRule(burst: 10, rate: 3.0 / 60)
    /// Distinct pages without the assets a browser fetches, from an agent that is not a known crawler.
    public var scraper = LeakyBucketRule(burst: 900, rate: 30.0 / 60)
    /// Ban a client whose user agent is a known attack tool.
    public var badAgents = true
    /// Site-wide login failures in one window before a credential-stuffing alert (and at least
    /// `multiplier` × the learned number).
    public var stuffingFloor: Int = 30

    public init() {}
}
