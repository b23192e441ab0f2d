import Detection

/// Tells people about the guard's decisions. Sending never blocks detection: `notify` only queues.
public protocol Notifier: Sendable {
    func notify(_ decision: GuardDecision)
}
