import Foundation
import Telemetry

extension GuardDecision {
    /// The audit-log line: `[2026-01-01T12:00:07Z] BAN ip=1.2.3.4 | condition=z=4.21 | rate=12.500 | baseline=2.100 | duration=600s`.
    public var auditLine: String {
        let kind = action == .globalAnomaly ? "GLOBAL_ANOMALY" : action.rawValue.uppercased()
        let address = cohort?.description ?? target?.description ?? (action == .globalAnomaly ? "global" : "-")
        let length = duration.map { "\($0)s" } ?? (action == .ban || action == .unban ? "permanent" : "0s")
        return "[\(ISO8601.format(at))] \(kind) ip=\(address) | condition=\(condition) | rate="
            + String(format: "%.3f", rate) + " | baseline=" + String(format: "%.3f", baseline) + " | duration=\(length)"
    }

    /// The decision as data: `guard replay --json` prints it (for bans, unbans and global alerts)
    /// and the JSON webhook sends it.
    public var record: DecisionRecord {
        // Three decimals: the figures are rates, and the noise below that is not information.
        func rounded(_ value: Double) -> Double { (value * 1000).rounded() / 1000 }
        return DecisionRecord(at: ISO8601.format(at), action: action, ip: cohort?.description ?? target?.description,
                              durationSeconds: action == .globalAnomaly ? nil : duration ?? -1, condition: condition,
                              rule: rule, rate: rounded(rate), baseline: rounded(baseline))
    }

    /// Whether `guard replay --json` prints this decision (recalcs and cap alerts are noise there).
    public var isReplayed: Bool { [.ban, .unban, .globalAnomaly, .cohort].contains(action) }
}

/// One decision as JSON: `{"action":"ban","at":"2026-01-01T12:00:07Z","baseline":2.1,
/// "condition":"z=4.21","duration_s":600,"ip":"203.0.113.9","rate":12.5,"rule":"z_score"}`.
/// `ip` and `duration_s` are always present (null for a global alert; -1 is permanent).
public struct DecisionRecord: Codable, Sendable, Equatable {
    public var at: String
    public var action: GuardDecision.Action
    public var ip: String?
    public var durationSeconds: Int?
    public var condition: String
    public var rule: GuardRule?
    public var rate: Double
    public var baseline: Double

    enum CodingKeys: String, CodingKey {
        case at, action, ip, durationSeconds = "duration_s", condition, rule, rate, baseline
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(at, forKey: .at)
        try container.encode(action, forKey: .action)
        try container.encode(ip, forKey: .ip)
        try container.encode(durationSeconds, forKey: .durationSeconds)
        try container.encode(condition, forKey: .condition)
        try container.encodeIfPresent(rule, forKey: .rule)
        try container.encode(rate, forKey: .rate)
        try container.encode(baseline, forKey: .baseline)
    }
}
