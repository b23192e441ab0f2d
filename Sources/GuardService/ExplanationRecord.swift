import Detection
import Telemetry
import Vocabulary

/// One row of `guard replay --explain IP --json`: the client's figures at a recalc or a decision
/// about it, with the decision when there is one (snake_case, as every JSON the tool writes).
struct ExplanationRecord: Codable, Sendable {
    struct Level: Codable, Sendable {
        var rule: String
        var level: Double
        var burst: Double
    }

    var at: String
    var rate: Double
    var expected: Double
    var z: Double
    var threshold: Double
    var requests: Int
    var errorRate: Double
    var agents: Int
    var warm: Bool
    var surging: Bool
    var banned: Bool
    var levels: [Level]
    /// `ban` or `unban` when this row is a decision about the client; its condition.
    var action: String?
    var condition: String?
    /// The flagged cohort challenging the client, and why.
    var cohort: String?

    enum CodingKeys: String, CodingKey {
        case at, rate, expected, z, threshold, requests, errorRate = "error_rate", agents, warm, surging, banned, levels, action, condition, cohort
    }

    init(_ explanation: GuardEngine.Explanation, decision: GuardDecision?) {
        at = ISO8601.format(explanation.at)
        (rate, expected, z, threshold) = (explanation.rate, explanation.expected, explanation.z, explanation.threshold)
        (requests, errorRate, agents) = (explanation.requests, explanation.errorRate, explanation.agents)
        (warm, surging, banned) = (explanation.warm, explanation.surging, explanation.banned)
        levels = explanation.levels.map { Level(rule: $0.rule, level: $0.level, burst: $0.burst) }
        action = decision?.action.rawValue
        condition = decision?.condition
        cohort = explanation.cohort
    }
}
