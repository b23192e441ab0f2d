import Foundation
import Manifest
import Vocabulary

/// The policies SwiftDeploy asks before risky steps.
public enum PolicyName: String, Sendable, CaseIterable {
    /// Is the host healthy enough to deploy onto? Input: cpu_load, disk_free_gb, mem_used_pct.
    case infrastructure
    /// Is the canary safe to promote? Input: error_rate, p99_latency_ms, requests, window_s.
    case canarySafety = "canary_safety"

    /// The Rego package, `swiftdeploy.<name>`.
    public var package: String { "swiftdeploy.\(rawValue)" }
    /// The rule queried: the decision object, never a lone boolean (rego-cpp answers *undefined* for a false one).
    public var query: String { "data.\(package).decision" }
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
public struct Decision: Sendable, Equatable {
    public var policy: PolicyName
    public var allow: Bool
    public var violations: [Violation]
    public var engine: String
    public var duration: Duration
    /// Why the engine gave no answer (library missing, server down, malformed result…); nil when it answered.
    public var unanswered: String?

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

    private static func text(_ value: JSONValue) -> String {
        if case .string(let string) = value { return string }
        return value.description
    }

    /// The decision as JSON, for `--json`, history and the dashboard.
    public var json: JSONValue {
        var object: [String: JSONValue] = [
            "policy": .string(policy.rawValue), "allow": .bool(allow), "engine": .string(engine),
            "duration_ms": .number((duration.seconds * 1000 * 1000).rounded() / 1000),
            "violations": .array(violations.map { ["rule": .string($0.rule), "observed": .string($0.observed),
                                                    "limit": .string($0.limit), "message": .string($0.message)] }),
        ]
        if let unanswered { object["unanswered"] = .string(unanswered) }
        return .object(object)
    }
}

