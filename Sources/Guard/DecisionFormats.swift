import Foundation
import Telemetry

extension GuardDecision {
    /// The audit-log line: `[2026-01-01T12:00:07Z] BAN ip=1.2.3.4 | condition=z=4.21 | rate=12.500 | baseline=2.100 | duration=600s`.
    public var auditLine: String {
        let kind = action == .globalAnomaly ? "GLOBAL_ANOMALY" : action.rawValue.uppercased()
        let address = ip.map(\.description) ?? (action == .globalAnomaly ? "global" : "-")
        let length = duration.map { "\($0)s" } ?? (action == .ban || action == .unban ? "permanent" : "0s")
        return "[\(ISO8601.format(at))] \(kind) ip=\(address) | condition=\(condition) | rate="
            + String(format: "%.3f", rate) + " | baseline=" + String(format: "%.3f", baseline) + " | duration=\(length)"
    }

    /// The `guard replay --json` object, for ban, unban and global_anomaly decisions (nil for others):
    /// `{"at":…,"action":"ban","ip":…,"duration_s":600,"condition":"z=4.21","rate":12.5,"baseline":2.1}`.
    public var replayJSON: String? {
        guard [.ban, .unban, .globalAnomaly].contains(action) else { return nil }
        func number(_ value: Double) -> String {
            let rounded = (value * 1000).rounded() / 1000
            return rounded == rounded.rounded() ? String(format: "%.1f", rounded) : String(rounded)
        }
        let address = ip.map { "\"\($0)\"" } ?? "null"
        let length = action == .globalAnomaly ? "null" : String(duration ?? -1)
        return "{\"at\":\"\(ISO8601.format(at))\",\"action\":\"\(action.rawValue)\",\"ip\":\(address),\"duration_s\":\(length),"
            + "\"condition\":\"\(condition)\",\"rate\":\(number(rate)),\"baseline\":\(number(baseline))}"
    }
}
