import Foundation
import GuardEvaluation
import TrafficScenarios
import Testing

/// The real public logs of scenarios/real (fetched by scripts/test through
/// scenarios/real/fetch-corpus, and any the project's shared data holds): replayed with their own
/// times and order, no address that no label names is ever banned.
@Suite struct RealLogsCorpus {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    static let folders = ["\(root)/.build/real-logs", "\(root)/../shared/data/real-logs"]

    @Test func noFalseBansOnRealLogs() throws {
        let real = try RealLogs(labels: "\(Self.root)/scenarios/real/labels.yaml")
        let reports = real.run(directories: Self.folders)
        guard !reports.isEmpty else {
            // Only scripts/test fetches them; a bare `swift test` on a fresh clone has none.
            #expect(ProcessInfo.processInfo.environment["CI"] != "true", "CI runs scenarios/real/fetch-corpus before the tests: no real log found")
            return
        }
        #expect(reports.count >= 4, "the four fetched logs at least: \(reports.map(\.log))")
        for report in reports {
            #expect(report.failures.isEmpty, "\(report.log): \(report.failures)")
            #expect(report.lines > 0)
        }
    }

    @Test func aLogThatIsNotTheLabelledOneIsRefused() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("real-\(getpid())").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try "not the file the labels were written for\n".write(toFile: "\(folder)/elastic-apache_logs", atomically: false, encoding: .utf8)
        let report = try #require(try RealLogs(labels: "\(Self.root)/scenarios/real/labels.yaml").run(directories: [folder]).first)
        #expect(report.failures.first?.contains("SHA-256 differs") == true)
    }
}
