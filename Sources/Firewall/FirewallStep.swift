/// One step of installing or removing an enforcer's objects. iptables has no "add if missing" nor
/// "remove all copies", so some commands depend on a lookup (`-C`) whose exit status decides.
public enum FirewallStep: Sendable, Equatable {
    case run(FirewallCommand)
    /// Runs the command once if `check` exits non-zero: adds a rule that is missing.
    case ifFailing(check: [String], run: FirewallCommand)
    /// Runs the command for as long as `check` exits zero: deletes every copy of a rule.
    case whileSucceeding(check: [String], run: FirewallCommand)
}
