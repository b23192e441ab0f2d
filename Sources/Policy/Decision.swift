import Foundation
import Manifest
import Vocabulary

/// The policies SwiftDeploy asks before risky steps.
public enum PolicyName: String, Sendable, Codable, CaseIterable {
    /// Is the host healthy enough to deploy onto? Input: cpu_load, disk_free_gb, mem_used_pct.
    case infrastructure
    /// Is the canary safe to promote? Input: error_rate, p99_latency_ms, requests, window_s.
    case canarySafety = "canary_safety"

    /// The Rego package, `swiftdeploy.<name>`.
    public var package: String { "swiftdeploy.\(rawValue)" }
    /// The rule queried: the decision object, never a lone boolean (rego-cpp answers *undefined* for a false one).
    public var query: String { "data.\(package).decision" }
    /// The same document as a path: OPA's `/v1/data/<path>`, rego-cpp's entry point, the decision log's `path`.
    public var path: String { package.replacingOccurrences(of: ".", with: "/") + "/decision" }
}

/// One broken rule: what was observed against which limit, in words a person can act on.
public struct Violation: Sendable, Equatable, Codable {
    public var rule: String
    public var observed: String
    public var limit: String
    public var message: String

    public init(rule: String, observed: String, limit: String, message: String) {
        self.rule = rule
        self.observed = observed
        self.limit = limit
        self.message = message
    }
}

/// A policy's answer. When the engine could not answer, `allow` is false and `unanswered` says why:
/// no answer is a no.
public struct Decision: Sendable, Equatable, Codable {
    public var policy: PolicyName
    public var allow: Bool
    public var violations: [Violation]
    public var engine: String
    public var duration: Duration
    /// Why the engine gave no answer (library missing, server down, malformed result…); nil when it answered.
    public var unanswered: String?
    /// Which policies decided (`PolicyFiles.revision`), set by the engine.
    public var revision: String?

    public init(policy: PolicyName, allow: Bool, violations: [Violation], engine: String, duration: Duration, unanswered: String?) {
        self.policy = policy
        self.allow = allow
        self.violations = violations
        self.engine = engine
        self.duration = duration
        self.unanswered = unanswered
    }

    public static func failClosed(_ policy: PolicyName, engine: String, duration: Duration = .zero, reason: String) -> Decision {
        Decision(policy: policy, allow: false,
                 violations: [Violation(rule: "engine", observed: "no answer", limit: "an answer", message: reason)],
                 engine: engine, duration: duration, unanswered: reason)
    }

    /// Reads the decision object `{"allow": bool, "violations": [{rule, observed, limit, message}]}`.
    static func parse(_ policy: PolicyName, result: JSONValue, engine: String, duration: Duration) -> Decision {
        guard let allow = result["allow"]?.bool, let list = result["violations"]?.array else {
            return failClosed(policy, engine: engine, duration: duration,
                              reason: "\(policy.query) is not a decision object {\"allow\": bool, \"violations\": [...]}; got \(result)")
        }
        let violations = list.map { item in
            Violation(rule: item["rule"]?.string ?? "?", observed: item["observed"].map(text) ?? "null",
                      limit: item["limit"].map(text) ?? "", message: item["message"]?.string ?? "\(item)")
        }.sorted { ($0.rule, $0.message) < ($1.rule, $1.message) }
        // A policy that allows while listing violations is contradictory: deny.
        return Decision(policy: policy, allow: allow && violations.isEmpty, violations: violations, engine: engine,
                        duration: duration, unanswered: nil)
    }

    /// A figure as a person reads it: 0.235, 480.12, 12 (the policy's input keeps full precision).
    static func text(_ value: JSONValue) -> String {
        switch value {
        case .string(let string): return string
        case .number(let number) where number.isFinite:
            if number == number.rounded(), abs(number) < 1e15 { return String(Int64(number)) }
            let digits = abs(number) < 1 ? String(format: "%.3g", number) : String(format: "%.2f", number)
            return digits.contains(".") && !digits.contains("e") ? String(digits.reversed().drop { $0 == "0" }.reversed()).trimmingCharacters(in: ["."]) : digits
        default: return value.description
        }
    }

    enum CodingKeys: String, CodingKey {
        case policy, allow, violations, engine, duration = "duration_ms", unanswered, revision
    }

    /// As JSON (`--json`, history): the duration in milliseconds.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(policy, forKey: .policy)
        try container.encode(allow, forKey: .allow)
        try container.encode(violations, forKey: .violations)
        try container.encode(engine, forKey: .engine)
        try container.encode((duration.seconds * 1_000_000).rounded() / 1000, forKey: .duration)
        try container.encodeIfPresent(unanswered, forKey: .unanswered)
        try container.encodeIfPresent(revision, forKey: .revision)
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        policy = try container.decode(PolicyName.self, forKey: .policy)
        allow = try container.decode(Bool.self, forKey: .allow)
        violations = try container.decode([Violation].self, forKey: .violations)
        engine = try container.decode(String.self, forKey: .engine)
        duration = .microseconds(Int64((try container.decode(Double.self, forKey: .duration) * 1000).rounded()))
        unanswered = try container.decodeIfPresent(String.self, forKey: .unanswered)
        revision = try container.decodeIfPresent(String.self, forKey: .revision)
    }

    /// The same decision, saying which policies made it.
    func made(by revision: String) -> Decision {
        var decision = self
        decision.revision = revision
        return decision
    }
}

/// A decision in the shape of OPA's decision log events (`decision_id`, `path`, `input`, `result`
/// or `error`, `timestamp`, `metrics`, `labels`), so what reads OPA's decision logs reads ours.
public struct DecisionLog: Codable, Sendable, Equatable {
    public var decisionID: String
    public var path: String
    public var input: JSONValue
    public var result: JSONValue?
    public var error: String?
    public var timestamp: Date
    public var metrics: [String: Int]
    /// `engine`, `revision` (of the policies), and `forced` when `--force` went past a deny.
    public var labels: [String: String]

    enum CodingKeys: String, CodingKey {
        case decisionID = "decision_id", path, input, result, error, timestamp, metrics, labels
    }

    public init(_ decision: Decision, input: JSONValue, at timestamp: Date, forced: Bool = false, id: String = UUID().uuidString.lowercased()) {
        decisionID = id
        path = decision.policy.path
        self.input = input
        result = decision.unanswered == nil
            ? ["allow": .bool(decision.allow), "violations": .array(decision.violations.map { JSONValue($0) })] : nil
        error = decision.unanswered
        self.timestamp = timestamp
        metrics = ["timer_rego_query_eval_ns": Int((decision.duration.seconds * 1e9).rounded())]
        labels = ["engine": decision.engine]
        if let revision = decision.revision { labels["revision"] = revision }
        if forced { labels["forced"] = "true" }
    }
}

