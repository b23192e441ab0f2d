import Policy
import Vocabulary

/// Asks a policy before a risky step and records the answer: a deny (or no answer) stops the step
/// unless forced, and a forced step says so loudly and is recorded as forced.
public struct PolicyGate: Sendable {
    public let engine: any PolicyEngine
    public let console: any Console
    public let history: History

    /// Returns the decision when the step may go ahead; throws `PolicyBlocked` when it may not.
    @discardableResult
    public func require(_ policy: PolicyName, input: JSONValue, force: Bool) async throws -> Decision {
        let decision = try await check(policy, input: input, force: force, forcedMeans: "going ahead although \(policy.rawValue) denies")
        guard decision.allow || force else { throw PolicyBlocked(decision: decision) }
        return decision
    }

    /// Asks, records and reports the answer without acting on it (a promotion counts it); a deny
    /// under `force` is recorded as forced and says what forcing it means.
    public func check(_ policy: PolicyName, input: JSONValue, force: Bool, forcedMeans: String) async throws -> Decision {
        let decision = await engine.decide(policy, input: input)
        try history.record(decision, input: input, forced: force && !decision.allow)
        let report = PolicyReport.lines(decision, input: input)
        if decision.allow {
            report.forEach { console.say("  \($0)") }
            return decision
        }
        report.forEach { console.warn("  \($0)") }
        if force { console.warn("WARNING: --force: \(forcedMeans) (recorded in history as forced)") }
        return decision
    }
}

/// A policy said no (or could not answer, which is also no).
public struct PolicyBlocked: Error, CustomStringConvertible {
    public let decision: Decision
    public var description: String {
        if let why = decision.unanswered {
            // No answer is a broken engine to mend, not a verdict to overrule: no --force hint here.
            return "\(decision.policy.rawValue): the policy engine could not answer (\(why)), so the answer is no; `swiftdeploy validate` checks the engine and the policies"
        }
        return "\(decision.policy.rawValue) denies: \(decision.violations.map(\.message).joined(separator: "; ")) (--force overrides)"
    }
}
