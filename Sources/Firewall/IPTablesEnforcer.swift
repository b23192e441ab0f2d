import Vocabulary

/// Plain iptables/ip6tables: our own chain `SWIFTDEPLOY`, jumped to from INPUT and FORWARD, one DROP
/// rule per ban. The kernel has no timeouts here: the daemon lifts bans on its timer.
public struct IPTablesEnforcer: Enforcer {
    public let name = "iptables"
    public let commands: FirewallCommands
    public var expiresInKernel: Bool { false }

    public init(commands: FirewallCommands = FirewallCommands()) { self.commands = commands }

    public func install() throws { try commands.run(installSteps) }
    /// Rules are not sets: what the chain already holds is looked up first, so no ban is added twice.
    public func ban(_ entries: [EnforcedBan]) throws {
        let present = try active()
        for command in banCommands(entries, present: present) { try commands.run(command) }
    }
    public func unban(_ entries: [EnforcedBan]) throws {
        let present = try active()
        for command in unbanCommands(entries, present: present) { try commands.run(command) }
    }
    public func active() throws -> Set<CIDR> { try commands.addresses(listing: listCommands, parse: Self.listedAddresses) }
    public func uninstall() throws { try commands.run(uninstallSteps) }

    private static let tools = ["iptables", "ip6tables"]
    private static let chains = ["INPUT", "FORWARD"]

    /// Our chain (creating it again fails harmlessly), then the jump to it unless it is there.
    public var installSteps: [FirewallStep] {
        Self.tools.flatMap { tool in
            [.run(FirewallCommand([tool, "-N", "SWIFTDEPLOY"], allowFailure: true))]
                + Self.chains.map { .ifFailing(check: [tool, "-C", $0, "-j", "SWIFTDEPLOY"], run: FirewallCommand([tool, "-I", $0, "-j", "SWIFTDEPLOY"])) }
        }
    }

    /// One DROP rule appended per entry not `present` already.
    public func banCommands(_ entries: [EnforcedBan], present: Set<CIDR>) -> [FirewallCommand] {
        entries.filter { !present.contains($0.cidr) }.map { FirewallCommand(Self.rule("-A", $0)) }
    }

    /// The DROP rule of each entry `present`, deleted (failing harmlessly if it went meanwhile).
    public func unbanCommands(_ entries: [EnforcedBan], present: Set<CIDR>) -> [FirewallCommand] {
        entries.filter { present.contains($0.cidr) }.map { FirewallCommand(Self.rule("-D", $0), allowFailure: true) }
    }

    /// Lists our chain for both families; a missing chain (not installed) fails and lists nothing.
    public var listCommands: [FirewallCommand] {
        Self.tools.map { FirewallCommand([$0, "-S", "SWIFTDEPLOY"], allowFailure: true) }
    }

    /// The sources of the rules in one `iptables -S SWIFTDEPLOY` answer, with their prefix length.
    public static func listedAddresses(_ output: String) -> Set<CIDR> {
        let rule = "-A SWIFTDEPLOY -s "
        let sources = output.split(separator: "\n").filter { $0.hasPrefix(rule) }.compactMap { $0.dropFirst(rule.count).split(separator: " ").first }
        return Set(sources.compactMap { CIDR($0) })
    }

    /// Every jump to our chain, then its rules, then the chain.
    public var uninstallSteps: [FirewallStep] {
        Self.tools.flatMap { tool in
            Self.chains.map { .whileSucceeding(check: [tool, "-C", $0, "-j", "SWIFTDEPLOY"], run: FirewallCommand([tool, "-D", $0, "-j", "SWIFTDEPLOY"])) }
                + [.run(FirewallCommand([tool, "-F", "SWIFTDEPLOY"], allowFailure: true)), .run(FirewallCommand([tool, "-X", "SWIFTDEPLOY"], allowFailure: true))]
        }
    }

    /// The entry's DROP rule in our chain, for its family's tool, with `verb` (`-A` or `-D`).
    private static func rule(_ verb: String, _ entry: EnforcedBan) -> [String] {
        [entry.address.isV4 ? "iptables" : "ip6tables", verb, "SWIFTDEPLOY", "-s", entry.text, "-j", "DROP"]
    }
}
