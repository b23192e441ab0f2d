import Foundation
import Policy
import Runtime
import Testing
import Vocabulary

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
        let user = History.operator
        #expect(report.contains("| 2027-01-15T08:00:00Z | deploy | \(user) | version=1.0.0 |"), "\(report)")
        #expect(report.contains("| 2027-01-15T08:00:00Z | policy | \(user) | BLOCK canary_safety: error_rate 20.0% exceeds maximum 5.0% (forced) |"))
        #expect(report.contains("| 2027-01-15T08:00:00Z | canary_safety | max_error_rate | 0.2 | 0.05 | error_rate 20.0% exceeds maximum 5.0% | **forced past** |"))
        #expect(report.contains("1 `status` refreshes are recorded"))
        #expect(!report.contains("| status_scrape |"))
        // What was written is read back as the same typed event.
        var recorded = policy
        recorded.details["user"] = .string(user)
        #expect(history.events().events.contains(recorded), "read back with who recorded it")
    }

    /// The report quotes history (commands, inputs): it is born readable by its owner alone.
    @Test func theReportFileIsPrivate() throws {
        let directory = NSTemporaryDirectory() + "swiftdeploy-audit-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let history = History(stateDirectory: directory)
        try history.record(.deploy, ["version": "1.0.0"])
        try AuditUseCase(history: history).write(title: "shop", to: "\(directory)/audit_report.md")
        var status = stat()
        #expect(stat("\(directory)/audit_report.md", &status) == 0 && status.st_mode & 0o777 == 0o600)
    }

    @Test func aPolicyEventIsOneFlatObject() throws {
        let decision = Decision(policy: .infrastructure, allow: true, violations: [], engine: "embedded", duration: .microseconds(1500), unanswered: nil)
        let event = HistoryEvent(event: .policy, timestamp: Date(timeIntervalSince1970: 1_800_000_000), decision: decision, input: ["cpu_load": 0.5])
        #expect(event.jsonLine == #"{"decision":{"allow":true,"duration_ms":1.5,"engine":"embedded","policy":"infrastructure","violations":[]},"event":"policy","input":{"cpu_load":0.5},"policy":"infrastructure","timestamp":"2027-01-15T08:00:00Z"}"#)
    }
}

@Suite struct DecisionLogs {
    /// Each recorded decision also carries OPA's decision-log event: the path, input, result (or the
    /// error when no answer came), the evaluation time, and which engine and policy revision decided.
    @Test func aRecordedDecisionIsAnOPADecisionLogEvent() async throws {
        let directory = NSTemporaryDirectory() + "swiftdeploy-decisionlog-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let history = History(stateDirectory: directory)
        let modules = DefaultPolicies.files.filter { !$0.name.hasSuffix("_test.rego") }.map { PolicyFiles.Module(name: $0.name, text: $0.text) }
        let engine = EmbeddedRegoEngine(modules: modules, limits: PolicyLimits(["infrastructure": ["max_cpu_load": 2, "min_disk_free_gb": 1, "max_mem_used_pct": 90]]))
        let input: JSONValue = ["cpu_load": 3, "disk_free_gb": 50, "mem_used_pct": 40]
        let denied = await engine.decide(.infrastructure, input: input)
        try history.record(denied, input: input, forced: true)
        let noAnswer = Decision.failClosed(.infrastructure, engine: "opa", reason: "OPA at http://127.0.0.1:1 is unreachable")
        try history.record(noAnswer, input: input)
        let logs = history.events().events.compactMap(\.decisionLog)
        #expect(logs.count == 2)
        let first = try #require(logs.first)
        #expect(first.path == "swiftdeploy/infrastructure/decision")
        #expect(first.input == input)
        #expect(first.result?["allow"] == false)
        #expect(first.result?["violations"]?.array?.first?["rule"] == "max_cpu_load")
        #expect(first.labels == ["engine": "embedded", "revision": PolicyFiles.revision(modules), "forced": "true"])
        #expect((first.metrics["timer_rego_query_eval_ns"] ?? 0) > 0)
        #expect(first.decisionID.count == 36 && first.decisionID != logs[1].decisionID)
        #expect(logs[1].result == nil && logs[1].error == "OPA at http://127.0.0.1:1 is unreachable")
        // The revision changes with any policy text.
        #expect(PolicyFiles.revision(modules) != PolicyFiles.revision(modules.dropLast() + [PolicyFiles.Module(name: "x.rego", text: "package x")]))
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
