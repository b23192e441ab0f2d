import Foundation
import Detection
import GuardEvaluation
import TrafficScenarios
import Testing

/// Every committed scenario under scenarios/guard must meet its expected.yaml, with its own seed
/// and with other seeds (so detection is not tuned to one draw of the traffic).
@Suite struct CommittedScenarios {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("scenarios/guard").path

    static var folders: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).sorted().map { "\(root)/\($0)" }
    }

    @Test func thereAreScenarios() {
        #expect(Self.folders.count >= 3)
    }

    @Test(arguments: folders)
    func meetsItsExpectedOutcome(folder: String) throws {
        let scenario = try Scenario(folder: folder)
        let evaluation = Evaluation(scenario: scenario)
        for seed in scenario.testSeeds {
            let report = evaluation.run(seed: seed)
            #expect(report.failures.isEmpty, "\(report.table)")
            #expect(report.lines > 0)
        }
    }
}
