import Vocabulary

/// ipset sets (`swiftdeploy4`, `swiftdeploy6`, with per-entry timeouts) and one iptables/ip6tables
/// rule each in INPUT and FORWARD, for hosts without nftables.
public struct IPSetEnforcer: Enforcer {
    public let name = "ipset"
    public let commands: FirewallCommands
    public var expiresInKernel: Bool { true }

    public init(commands: FirewallCommands = FirewallCommands()) { self.commands = commands }

    public func install() throws { try commands.run(installSteps) }
    public func ban(_ entries: [EnforcedBan]) throws { for command in banCommands(entries) { try commands.run(command) } }
    public func unban(_ entries: [EnforcedBan]) throws { for command in unbanCommands(entries) { try commands.run(command) } }
    public func active() throws -> Set<CIDR> { try commands.addresses(listing: listCommands, parse: Self.listedAddresses) }
    public func uninstall() throws { try commands.run(uninstallSteps) }

    /// Each family's firewall tool and set.
    private static let families = [(tool: "iptables", set: "swiftdeploy4"), (tool: "ip6tables", set: "swiftdeploy6")]

    /// Both sets (timeout 0: entries may carry their own), then each drop rule unless it is there.
    public var installSteps: [FirewallStep] {
        [
            .run(FirewallCommand(["ipset", "create", "swiftdeploy4", "hash:net", "family", "inet", "timeout", "0", "-exist"])),
            .run(FirewallCommand(["ipset", "create", "swiftdeploy6", "hash:net", "family", "inet6", "timeout", "0", "-exist"])),
        ] + Self.families.flatMap { family in
            Self.rules(family).map { .ifFailing(check: [family.tool, "-C"] + $0, run: FirewallCommand([family.tool, "-I"] + $0)) }
        }
    }

    /// ipset refuses a timeout above 2,147,483 s (about 24.8 days).
    static let longestTimeout = FirewallTimeouts.ipset

    /// One `ipset restore` for the batch; timeout 0 is permanent, and `-exist` makes re-banning
    /// refresh the timeout.
    public func banCommands(_ entries: [EnforcedBan]) -> [FirewallCommand] {
        restore(entries.map { "add \(Self.set(for: $0)) \($0.text) timeout \($0.kernelSeconds(atMost: Self.longestTimeout) ?? 0)\n" })
    }

    /// `-exist`: deleting an entry that already expired is not an error.
    public func unbanCommands(_ entries: [EnforcedBan]) -> [FirewallCommand] {
        restore(entries.map { "del \(Self.set(for: $0)) \($0.text)\n" })
    }

    /// Lists both sets; a missing one (not installed) fails and lists nothing.
    public var listCommands: [FirewallCommand] {
        Self.families.map { FirewallCommand(["ipset", "list", $0.set], allowFailure: true) }
    }

    /// The addresses and ranges in one `ipset list` answer: the first word of each line after `Members:`.
    public static func listedAddresses(_ output: String) -> Set<CIDR> {
        guard let members = output.range(of: "Members:\n") else { return [] }
        let words = output[members.upperBound...].split(separator: "\n").compactMap { $0.split(separator: " ").first }
        return Set(words.compactMap { CIDR($0) })
    }

    /// Every copy of each drop rule, then the set (once no rule refers to it).
    public var uninstallSteps: [FirewallStep] {
        Self.families.flatMap { family in
            Self.rules(family).map { .whileSucceeding(check: [family.tool, "-C"] + $0, run: FirewallCommand([family.tool, "-D"] + $0)) }
                + [.run(FirewallCommand(["ipset", "destroy", family.set], allowFailure: true))]
        }
    }

    /// A family's drop rules in INPUT and FORWARD, marked with our comment.
    private static func rules(_ family: (tool: String, set: String)) -> [[String]] {
        ["INPUT", "FORWARD"].map { [$0, "-m", "set", "--match-set", family.set, "src", "-j", "DROP", "-m", "comment", "--comment", "swiftdeploy"] }
    }

    private static func set(for entry: EnforcedBan) -> String { entry.address.isV4 ? "swiftdeploy4" : "swiftdeploy6" }

    /// One `ipset restore -exist` with these lines; nothing for none.
    private func restore(_ lines: [String]) -> [FirewallCommand] {
        lines.isEmpty ? [] : [FirewallCommand(["ipset", "restore", "-exist"], input: lines.joined())]
    }
}
