import Foundation
import Detection
import GuardStorage
import Telemetry
import Vocabulary

/// Everything one dashboard update carries: the guard, the host and the deployed stack.
public struct DashboardState: Sendable, Codable, Equatable {
    public var name: String
    /// The server's clock (Unix seconds, fractional), so pages tick remaining times against it.
    public var serverTime: Double
    public var guardState: GuardSnapshot
    public var host: HostView
    /// nil when no stack is deployed from this manifest.
    public var deploy: DeployView?

    enum CodingKeys: String, CodingKey {
        case name, serverTime, host, deploy
        case guardState = "guard"
    }

    public init(name: String, serverTime: Double, guardState: GuardSnapshot, host: HostView, deploy: DeployView?) {
        (self.name, self.serverTime, self.guardState, self.host, self.deploy) = (name, serverTime, guardState, host, deploy)
    }
}

/// The host's load and memory.
public struct HostView: Sendable, Codable, Equatable {
    /// 1-minute load average.
    public var load: Double?
    public var cores: Int
    public var memUsedPct: Double?

    public init(load: Double?, cores: Int, memUsedPct: Double?) {
        (self.load, self.cores, self.memUsedPct) = (load, cores, memUsedPct)
    }
}

/// The deploy side: each track and each policy's verdict.
public struct DeployView: Sendable, Codable, Equatable {
    public struct TrackView: Sendable, Codable, Equatable {
        public var track: String
        public var version: String
        public var healthy: Bool
        public var weight: Int
        public var rps: Double
        public var errorRate: Double?
        public var p99MS: Double?

        public init(track: String, version: String, healthy: Bool, weight: Int, rps: Double, errorRate: Double?, p99MS: Double?) {
            (self.track, self.version, self.healthy, self.weight) = (track, version, healthy, weight)
            (self.rps, self.errorRate, self.p99MS) = (rps, errorRate, p99MS)
        }
    }

    public struct PolicyView: Sendable, Codable, Equatable {
        public var policy: String
        public var allow: Bool
        public var reasons: [String]

        public init(policy: String, allow: Bool, reasons: [String]) { (self.policy, self.allow, self.reasons) = (policy, allow, reasons) }
    }

    public var tracks: [TrackView]
    public var policies: [PolicyView]

    public init(tracks: [TrackView], policies: [PolicyView]) { (self.tracks, self.policies) = (tracks, policies) }
}

/// The chart's data: global requests per second, the baseline's recalculations (the band) and the
/// hourly baselines.
public struct DashboardHistory: Sendable, Codable, Equatable {
    public struct Hour: Sendable, Codable, Equatable {
        public var hour: Int
        public var mean: Double
        public var points: Int

        public init(hour: Int, mean: Double, points: Int) { (self.hour, self.mean, self.points) = (hour, mean, points) }
    }

    public var seconds: [Baseline.Second]
    public var recalcs: [GuardStore.Recalc]
    public var hours: [Hour]

    public init(seconds: [Baseline.Second], recalcs: [GuardStore.Recalc], hours: [Hour]) {
        (self.seconds, self.recalcs, self.hours) = (seconds, recalcs, hours)
    }
}

/// Where the dashboard gets its data and sends its actions (the guard daemon and the stack, wired
/// together by the command that runs them).
public protocol DashboardSource: Sendable {
    func guardSnapshot() -> GuardSnapshot
    /// The guard's live measurements (histograms), exposed beside the snapshot's figures.
    var guardMetrics: GuardMetrics { get }
    func host() -> HostView
    /// nil when nothing is deployed.
    func deploy() async -> DeployView?
    func history(since second: Int) throws -> DashboardHistory
    /// Hands an unban to the guard.
    func unban(_ target: BanTarget) throws
}

extension DashboardHistory {
    /// The chart's data from the guard's store.
    public static func load(from store: GuardStore, since second: Int) throws -> DashboardHistory {
        DashboardHistory(seconds: try store.history(since: second), recalcs: try store.recalcs(since: second),
                         hours: try store.hours().map { Hour(hour: $0.hour, mean: $0.slot.mean, points: $0.slot.points) })
    }
}
