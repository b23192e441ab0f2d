import Manifest
import Vocabulary

/// What one promotion has seen, as a value: the step it is on, its checks and failed checks so far,
/// the passes in a row of this step, and where it stands. `Stack.promote` tells it what each check
/// found and does what it answers; nothing here waits or reads, so every branch is a plain test.
///
/// The rules are Flagger's: `iterations` passing checks in a row move a step on, `threshold` failed
/// checks over the whole promotion stop it, and a check with fewer than `min_requests` requests is
/// inconclusive (neither passed nor failed) until `deadline`, when it is judged as it stands.
public struct PromotionAnalysis: Sendable, Equatable, Codable {
    /// Where the promotion stands.
    public enum Phase: String, Sendable, Codable {
        /// Checking the canary at this step's weight.
        case checking
        /// This step's check waits for `min_requests`.
        case inconclusive
        /// `iterations` checks in a row passed at this step.
        case stepPassed = "step_passed"
        /// `threshold` checks failed: the promotion stops.
        case blocked
    }

    /// A check with too few requests yet: wait for traffic and read again.
    public struct TrafficWait: Sendable, Equatable {
        public let requests: Int
        /// This check starts waiting (history records it once).
        public let first: Bool
    }

    /// What a judged check means for the promotion.
    public enum Verdict: Sendable, Equatable {
        /// The check passed (`inRow` in a row); check again after the interval.
        case passed(inRow: Int)
        /// The check failed (`failures` so far); check again after the interval.
        case failed(failures: Int)
        /// `iterations` in a row passed: on to the next weight, or promote.
        case stepPassed
        /// `threshold` failed checks: stop, and roll a stepped promotion back.
        case blocked
    }

    public let iterations: Int
    public let threshold: Int
    public let minRequests: Int
    public let deadline: Duration
    /// `--force`: a denied check counts as passed (and is recorded as forced).
    public let force: Bool

    public private(set) var phase: Phase = .checking
    /// The step being checked, from 1; 0 before the first.
    public private(set) var step = 0
    /// The canary's share of requests at this step.
    public private(set) var weight = 0
    /// Whether this step waits for `min_requests` (a stepped promotion) or judges what the canary has had.
    public private(set) var waitsForTraffic = false
    /// Checks judged over the whole promotion (inconclusive readings are not checks).
    public private(set) var checks = 0
    /// Failed checks over the whole promotion.
    public private(set) var failures = 0
    /// Passing checks in a row at this step.
    public private(set) var passedInRow = 0
    /// Denied checks that `--force` counted as passed.
    public private(set) var forcedChecks = 0

    public init(iterations: Int, threshold: Int, minRequests: Int, deadline: Duration, force: Bool) {
        (self.iterations, self.threshold, self.minRequests, self.deadline, self.force) = (iterations, threshold, minRequests, deadline, force)
    }

    public init(_ limits: CanarySafetyLimits, force: Bool) {
        self.init(iterations: limits.iterations, threshold: limits.threshold, minRequests: limits.minRequests, deadline: limits.deadline, force: force)
    }

    /// Starts checking at `weight`; failed checks carry over from earlier steps, passes in a row do not.
    public mutating func begin(step: Int, weight: Int, waitsForTraffic: Bool) {
        (self.step, self.weight, self.waitsForTraffic) = (step, weight, waitsForTraffic)
        passedInRow = 0
        phase = .checking
    }

    /// Before a check is judged: a wait while it has too few `requests` and has waited less than
    /// `deadline`; nil when it is to be judged now (past the deadline, as it stands).
    public mutating func awaitTraffic(requests: Int, waited: Duration) -> TrafficWait? {
        guard waitsForTraffic, requests < minRequests, waited < deadline else { return nil }
        defer { phase = .inconclusive }
        return TrafficWait(requests: requests, first: phase != .inconclusive)
    }

    /// Counts a judged check: `allowed` is the policy's answer.
    public mutating func judge(allowed: Bool) -> Verdict {
        checks += 1
        if !allowed && force { forcedChecks += 1 }
        if allowed || force {
            passedInRow += 1
            guard passedInRow >= iterations else {
                phase = .checking
                return .passed(inRow: passedInRow)
            }
            phase = .stepPassed
            return .stepPassed
        }
        failures += 1
        passedInRow = 0
        guard failures >= threshold else {
            phase = .checking
            return .failed(failures: failures)
        }
        phase = .blocked
        return .blocked
    }

    /// The figures history keeps with each step and the promotion.
    public var record: [String: JSONValue] {
        ["phase": .string(phase.rawValue), "checks": .number(Double(checks)), "failed_checks": .number(Double(failures)),
         "forced_checks": .number(Double(forcedChecks))]
    }
}
