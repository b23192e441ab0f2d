import Vocabulary

/// The guard's defaults, written once: the manifest fills every absent `guard` field from here, and
/// the engine's plain settings (`GuardConfig()`, for a replay without a manifest and for tests)
/// start from here. Times are seconds; a nil ban length is permanent.
public enum GuardDefaults {
    public static let window = 60
    public static let reorderHorizon = 120
    public static let baselineWindow = 1800
    public static let recalcEvery = 60
    public static let minPoints = 10
    public static let meanFloor = 0.1
    public static let clientFloor = 0.5
    public static let clientQuantile = 0.99
    public static let zScore = 3.0
    public static let multiplier = 5.0
    public static let errorSurge = 3.0
    public static let surgeTightening = 0.5
    public static let bans: [Int?] = [600, 1800, 7200, nil]
    public static let forgiveAfter = 86400
    public static let allow = [CIDR("127.0.0.0/8")!, CIDR("::1")!]
    public static let ipv6Prefix = 64
    public static let maxTrackedIPs = 200_000
    public static let globalCooldown = 300
    public static let minRequests = 10
}
