import Policy
import Synchronization
import Vocabulary

/// A policy engine that answers from a script: each canary_safety question takes the next answer
/// (the last one repeats); the infrastructure policy allows. It keeps every question it was asked.
public final class ScriptedPolicyEngine: PolicyEngine {
    public enum Answer: Sendable { case allow, deny, noAnswer }

    public let name = "scripted"
    private let script = Mutex((answers: [Answer](), asked: [(policy: PolicyName, input: JSONValue)]()))

    public init(canary answers: [Answer]) { script.withLock { $0.answers = answers } }

    /// The questions asked so far, oldest first.
    public var asked: [(policy: PolicyName, input: JSONValue)] { script.withLock { $0.asked } }

    public func decide(_ policy: PolicyName, input: JSONValue) async -> Decision {
        let answer: Answer = script.withLock { script in
            script.asked.append((policy, input))
            guard policy == .canarySafety else { return .allow }
            return script.answers.count > 1 ? script.answers.removeFirst() : script.answers.first ?? .allow
        }
        switch answer {
        case .allow:
            return Decision(policy: policy, allow: true, violations: [], engine: name, duration: .zero, unanswered: nil)
        case .deny:
            return Decision(policy: policy, allow: false,
                            violations: [Violation(rule: "scripted", observed: "deny", limit: "allow", message: "the script denies")],
                            engine: name, duration: .zero, unanswered: nil)
        case .noAnswer:
            return .failClosed(policy, engine: name, reason: "the script gives no answer")
        }
    }
}
