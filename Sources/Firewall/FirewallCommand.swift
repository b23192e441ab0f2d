/// One firewall tool invocation as a value: what an enforcer wants the kernel told, built without
/// running anything (so it can be compared in a test) and run by `FirewallCommands`.
public struct FirewallCommand: Sendable, Equatable {
    /// The argv, starting with the tool (`nft`, `ipset`, `iptables`, `ip6tables`).
    public var arguments: [String]
    /// Written to the tool's stdin: an `nft -f -` or `ipset restore` script.
    public var input: String?
    /// A non-zero exit is an answer here (a lookup, or removing what may already be gone), not an error.
    public var allowFailure: Bool

    public init(_ arguments: [String], input: String? = nil, allowFailure: Bool = false) {
        self.arguments = arguments
        self.input = input
        self.allowFailure = allowFailure
    }
}
