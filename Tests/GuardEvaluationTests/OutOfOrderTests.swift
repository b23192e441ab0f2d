import Foundation
import Detection
import GuardEvaluation
import TrafficScenarios
import Testing

/// Lines out of time order, as real logs have them, judged as the same lines in order: generated
/// sites written with request durations (`LogShape.disorder`), duplicated lines and rotations.
/// Reordering within the horizon must never make a ban the ordered log does not make, and a ban
/// the ordered log makes must still be made.
@Suite struct OutOfOrder {
    static let scenarios = ["quiet-site", "flash-crowd", "demo"]

    static func scenario(_ name: String) throws -> Scenario {
        try Scenario(folder: "\(CommittedScenarios.root)/\(name)")
    }

    @Test(arguments: scenarios, [LogShape(disorder: 2), LogShape(disorder: 30, duplicates: 0.01, rotateEvery: 600)])
    func reorderedLinesMakeTheSameBans(name: String, shape: LogShape) throws {
        let evaluation = Evaluation(scenario: try Self.scenario(name))
        for seed: UInt64 in [3] {
            let ordered = evaluation.run(seed: seed, shape: LogShape())
            let reordered = evaluation.run(seed: seed, shape: shape)
            let made = Set(reordered.banned).subtracting(ordered.banned), lost = Set(ordered.banned).subtracting(reordered.banned)
            #expect(made.isEmpty, "\(name) seed \(seed), disorder \(shape.disorder) s: bans the ordered log does not make: \(made.sorted())")
            #expect(lost.isEmpty, "\(name) seed \(seed), disorder \(shape.disorder) s: bans of the ordered log lost: \(lost.sorted())")
            #expect(!ordered.banned.isEmpty || name == "flash-crowd", "the scenario must have attackers to lose")
        }
    }

    @Test(arguments: scenarios)
    func reorderingUpToTheHorizonNeverMakesABan(name: String) throws {
        let evaluation = Evaluation(scenario: try Self.scenario(name))
        let ordered = evaluation.run(seed: 5, shape: LogShape())
        let reordered = evaluation.run(seed: 5, shape: LogShape(disorder: Double(GuardConfig().reorderHorizon - 5)))
        let made = Set(reordered.banned).subtracting(ordered.banned)
        #expect(made.isEmpty, "\(name): bans the ordered log does not make: \(made.sorted())")
    }
}
