import Foundation
import TestSupport
import Testing

@testable import Policy
import Vocabulary

/// One policy, two engines, the same answer: every shipped decision over a generated grid of inputs,
/// and every shipped `_test.rego`, on rego-cpp in process and on the real OPA (scripts/opa-server).
@Suite(.serialized) struct EnginesAgree {
    /// A measurement's value around its limit and every shape it should never have.
    static func variants(limit: Double) -> [(String, JSONValue?)] {
        let step = max(abs(limit) * 0.01, 0.001)
        return [
            ("at", .number(limit)), ("below", .number(limit - step)), ("above", .number(limit + step)),
            ("integer", .number((limit + 1).rounded(.down))), ("missing", nil), ("null", .null), ("string", .string("\(limit)")),
            ("boolean", .bool(true)), ("nested", ["value": .number(limit)]), ("negative", .number(-1)), ("huge", .number(1e300)),
            ("array", [.number(limit)]),
        ]
    }

    /// The inputs for one policy: the good input with each measurement varied, then whole inputs of
    /// the wrong shape, then the good input with each limit varied.
    static func grid(_ policy: PolicyName, good: JSONValue) -> [(String, JSONValue, PolicyLimits)] {
        var cases: [(String, JSONValue, PolicyLimits)] = []
        guard case .object(let fields) = good, case .object(let policyLimits)? = limits.byPolicy[policy.rawValue] else { return [] }
        for (measure, value) in fields.sorted(by: { $0.key < $1.key }) {
            let around = limitFor(measure, policyLimits) ?? value.number ?? 1
            for (name, variant) in variants(limit: around) {
                var changed = fields
                changed[measure] = variant
                cases.append(("\(measure) \(name)", .object(changed), limits))
            }
        }
        for (name, input) in [("empty object", JSONValue.object([:])), ("array", [good]), ("string", "text"), ("number", 3), ("null", .null),
                              ("limits inside the measurements", .object(fields.merging(["limits": ["max_cpu_load": 1e9]]) { $1 }))] {
            cases.append((name, input, limits))
        }
        for (limit, value) in policyLimits.sorted(by: { $0.key < $1.key }) {
            for (name, variant) in variants(limit: value.number ?? 1) {
                var changed = policyLimits
                changed[limit] = variant
                var all = limits.byPolicy.objectValue
                all[policy.rawValue] = .object(changed)
                cases.append(("limit \(limit) \(name)", good, PolicyLimits(.object(all))))
            }
        }
        return cases
    }

    /// The limit a measurement is held to (`cpu_load` → `max_cpu_load`).
    static func limitFor(_ measure: String, _ limits: [String: JSONValue]) -> Double? {
        limits.first { $0.key.hasSuffix(measure) || ($0.key == "min_requests" && measure == "requests") }?.value.number
    }

    struct Answer: Equatable, CustomStringConvertible {
        let allow: Bool
        let unanswered: Bool
        let rules: Set<String>
        let messages: Set<String>
        init(_ decision: Decision) {
            allow = decision.allow
            unanswered = decision.unanswered != nil
            rules = Set(decision.violations.map(\.rule))
            messages = Set(decision.violations.map(\.message))
        }
        var description: String { "allow=\(allow)\(unanswered ? " (no answer)" : "") rules=\(rules.sorted()) messages=\(messages.sorted())" }
    }

    @Test(arguments: [(PolicyName.infrastructure, healthyHost), (.canarySafety, goodCanary)])
    func everyInputOfTheGridGetsTheSameDecision(policy: PolicyName, good: JSONValue) async throws {
        try await OPAServer.with { url in
            var compared = 0
            for (name, input, caseLimits) in Self.grid(policy, good: good) {
                let embedded = Answer(await EmbeddedRegoEngine(modules: shippedDecisions, limits: caseLimits).decide(policy, input: input))
                let server = Answer(await OPAEngine(baseURL: url, timeout: .seconds(5), modules: shippedDecisions, limits: caseLimits)
                    .decide(policy, input: input))
                #expect(embedded == server, "\(policy.rawValue), \(name): \(input)\n  embedded: \(embedded)\n  opa:      \(server)")
                #expect(!server.unanswered, "\(name): OPA gave no answer")
                // Anything but a well-formed input inside its limits is a deny, on both.
                if name.hasSuffix("missing") || name.hasSuffix("null") || name.hasSuffix("string") || name.hasSuffix("boolean")
                    || name.hasSuffix("nested") || name.hasSuffix("array") || ["empty object", "string", "number", "null"].contains(name) {
                    #expect(!embedded.allow && !server.allow, "\(name) was allowed")
                }
                compared += 1
            }
            #expect(compared > 70)
        }
    }

    @Test func everyShippedPolicyTestPassesOnBothEngines() async throws {
        try await OPAServer.with { url in
            let onOPA = await PolicyTestRunner.run(modules: shipped, engine: "opa",
                                                   await PolicyTestRunner.opa(OPAEngine(baseURL: url, timeout: .seconds(5), modules: shipped, limits: .none), shipped))
            let onEmbedded = await PolicyTestRunner.run(modules: shipped, engine: "embedded", PolicyTestRunner.embedded(shipped))
            #expect(onOPA.count == onEmbedded.count && onOPA.count >= 30)
            #expect(onOPA.filter { !$0.passed }.isEmpty, "\(onOPA.filter { !$0.passed })")
            #expect(onEmbedded.filter { !$0.passed }.isEmpty, "\(onEmbedded.filter { !$0.passed })")
        }
    }
}

extension JSONValue {
    var objectValue: [String: JSONValue] { if case .object(let value) = self { value } else { [:] } }
}
