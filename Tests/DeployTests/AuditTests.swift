import Foundation
import Policy
import Runtime
import Testing

@testable import Deploy

@Suite struct AuditReport {
    @Test func timelineAndViolationsFromHistory() throws {
        let directory = NSTemporaryDirectory() + "swiftdeploy-audit-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let history = History(stateDirectory: directory)
        let at = Date(timeIntervalSince1970: 1_800_000_000)
        try history.record(.deploy, ["version": "1.0.0"], at: at)
        let denied = Decision(policy: .canarySafety, allow: false,
                              violations: [Violation(rule: "max_error_rate", observed: "0.2", limit: "0.05", message: "error_rate 20.0% exceeds maximum 5.0%")],
                              engine: "embedded", duration: .milliseconds(1), unanswered: nil)
        let policy = HistoryEvent(event: .policy, timestamp: at, decision: denied, input: ["error_rate": 0.2], forced: true)
        try history.record(policy)
        try history.record(.statusScrape, at: at)
        try Data("not json\n".utf8).append(toFile: history.path)
        let report = AuditUseCase(history: history).report(title: "shop")
        #expect(report.contains("3 events from `\(history.path)` (1 unreadable lines skipped)."))
        #expect(report.contains("| 2027-01-15T08:00:00Z | deploy | version=1.0.0 |"))
        #expect(report.contains("| 2027-01-15T08:00:00Z | policy | BLOCK canary_safety: error_rate 20.0% exceeds maximum 5.0% (forced) |"))
        #expect(report.contains("| 2027-01-15T08:00:00Z | canary_safety | max_error_rate | 0.2 | 0.05 | error_rate 20.0% exceeds maximum 5.0% | **forced past** |"))
        #expect(report.contains("1 `status` refreshes are recorded"))
        #expect(!report.contains("| status_scrape |"))
        // What was written is read back as the same typed event.
        #expect(history.events().events.contains(policy))
    }

    @Test func aPolicyEventIsOneFlatObject() throws {
        let decision = Decision(policy: .infrastructure, allow: true, violations: [], engine: "embedded", duration: .microseconds(1500), unanswered: nil)
        let event = HistoryEvent(event: .policy, timestamp: Date(timeIntervalSince1970: 1_800_000_000), decision: decision, input: ["cpu_load": 0.5])
        #expect(event.jsonLine == #"{"decision":{"allow":true,"duration_ms":1.5,"engine":"embedded","policy":"infrastructure","violations":[]},"event":"policy","input":{"cpu_load":0.5},"policy":"infrastructure","timestamp":"2027-01-15T08:00:00Z"}"#)
    }
}

extension Data {
    func append(toFile path: String) throws {
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: self)
    }
}

@Suite struct StateFileModes {
    @Test func historyAndStackStateAreTheDeployUsersOnly() throws {
        let directory = NSTemporaryDirectory() + "swiftdeploy-modes-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let history = History(stateDirectory: directory)
        try history.record(.deploy, ["version": "1.0.0"])
        try StackState().save(to: directory)
        for path in [history.path, StackState.file(in: directory)] {
            #expect(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int == 0o600, "\(path)")
        }
    }
}
