import Vocabulary

/// nftables: our own table `inet swiftdeploy` with IPv4 and IPv6 sets whose elements carry their own
/// timeouts (bans expire in the kernel even if the daemon dies), and drop rules in an input and a
/// forward chain (so container-published ports are covered). Clients and ranges live in separate
/// sets (`banned4/6`, `ranges4/6`): an interval set refuses overlapping elements, and a client inside
/// a banned range is a normal case. Every change is one `nft -f -` transaction.
public struct NFTablesEnforcer: Enforcer {
    public let name = "nftables"
    public let commands: FirewallCommands
    public let table: String
    public var expiresInKernel: Bool { true }

    public init(commands: FirewallCommands = FirewallCommands(), table: String = "swiftdeploy") {
        self.commands = commands
        self.table = table
    }

    public func install() throws { try commands.run(installSteps) }
    public func ban(_ entries: [EnforcedBan]) throws { for command in banCommands(entries) { try commands.run(command) } }
    public func unban(_ entries: [EnforcedBan]) throws { for command in unbanCommands(entries) { try commands.run(command) } }
    public func active() throws -> Set<CIDR> { try commands.addresses(listing: listCommands, parse: Self.listedAddresses) }
    public func uninstall() throws { try commands.run(uninstallSteps) }
    public func replace(with entries: [EnforcedBan], ipv6Prefix: Int) throws -> Int? {
        try commands.run(replaceCommand(entries))
        return nil
    }

    /// The table, its two sets and the drop rules, in one transaction; the chains are flushed first
    /// so installing twice leaves one rule each.
    public var installSteps: [FirewallStep] {
        [.run(FirewallCommand(["nft", "-f", "-"], input: """
            add table inet \(table)
            add set inet \(table) banned4 { type ipv4_addr; flags timeout; }
            add set inet \(table) banned6 { type ipv6_addr; flags interval, timeout; }
            add set inet \(table) ranges4 { type ipv4_addr; flags interval, timeout; }
            add set inet \(table) ranges6 { type ipv6_addr; flags interval, timeout; }
            add chain inet \(table) input { type filter hook input priority -10; policy accept; }
            add chain inet \(table) forward { type filter hook forward priority -10; policy accept; }
            flush chain inet \(table) input
            flush chain inet \(table) forward
            add rule inet \(table) input ip saddr @banned4 drop
            add rule inet \(table) input ip6 saddr @banned6 drop
            add rule inet \(table) input ip saddr @ranges4 drop
            add rule inet \(table) input ip6 saddr @ranges6 drop
            add rule inet \(table) forward ip saddr @banned4 drop
            add rule inet \(table) forward ip6 saddr @banned6 drop
            add rule inet \(table) forward ip saddr @ranges4 drop
            add rule inet \(table) forward ip6 saddr @ranges6 drop

            """))]
    }

    /// Add (a no-op when present), delete, add with the new timeout: one transaction that refreshes
    /// a ban or creates it without asking the kernel first what it holds; one statement per set and
    /// step, however many addresses.
    public func banCommands(_ entries: [EnforcedBan]) -> [FirewallCommand] {
        transaction(entries, steps: [("add", false), ("delete", false), ("add", true)])
    }

    /// Both sets emptied and filled with `entries` in one transaction: the kernel never holds fewer
    /// bans on the way, and nothing has to be listed (listing 100,000 elements takes seconds).
    public func replaceCommand(_ entries: [EnforcedBan]) -> FirewallCommand {
        let flush = Self.sets.map { "flush set inet \(table) \($0)\n" }.joined()
        return FirewallCommand(["nft", "-f", "-"], input: flush + script(entries, steps: [("add", true)]))
    }

    /// Add first, so deleting an element that already expired is not an error.
    public func unbanCommands(_ entries: [EnforcedBan]) -> [FirewallCommand] {
        transaction(entries, steps: [("add", false), ("delete", false)])
    }

    /// Our sets: clients of each family, then ranges of each family.
    static let sets = ["banned4", "banned6", "ranges4", "ranges6"]

    /// Lists every set; a missing one (not installed) fails and lists nothing.
    public var listCommands: [FirewallCommand] {
        Self.sets.map { FirewallCommand(["nft", "list", "set", "inet", table, $0], allowFailure: true) }
    }

    /// The addresses and ranges in one `nft list set` answer: the first word of each element (its
    /// timeouts follow).
    public static func listedAddresses(_ output: String) -> Set<CIDR> {
        guard let open = output.range(of: "elements = {") else { return [] }
        let body = output[open.upperBound...].prefix { $0 != "}" }
        let words = body.split(whereSeparator: { $0 == "," || $0 == "\n" }).compactMap { $0.split(whereSeparator: { $0 == " " || $0 == "\t" }).first }
        return Set(words.compactMap { CIDR($0) })
    }

    public var uninstallSteps: [FirewallStep] {
        [.run(FirewallCommand(["nft", "delete", "table", "inet", table], allowFailure: true))]
    }

    /// nft refuses a timeout of 100,000,000 s or more.
    static let longestTimeout = FirewallTimeouts.nftables

    /// One `nft -f -` applying `steps` (verb, with timeouts) to the entries, grouped by set; nothing
    /// for no entries.
    private func transaction(_ entries: [EnforcedBan], steps: [(verb: String, timeouts: Bool)]) -> [FirewallCommand] {
        let script = script(entries, steps: steps)
        return script.isEmpty ? [] : [FirewallCommand(["nft", "-f", "-"], input: script)]
    }

    /// The statements applying `steps` to the entries, one per set and step.
    private func script(_ entries: [EnforcedBan], steps: [(verb: String, timeouts: Bool)]) -> String {
        var script = ""
        let grouped = Dictionary(grouping: entries) { ($0.isRange ? "ranges" : "banned") + ($0.address.isV4 ? "4" : "6") }
        for set in Self.sets {
            guard let members = grouped[set] else { continue }
            for step in steps {
                let elements = members.map { entry -> String in
                    entry.text + (step.timeouts ? entry.kernelSeconds(atMost: Self.longestTimeout).map { " timeout \(max(1, $0))s" } ?? "" : "")
                }
                script += "\(step.verb) element inet \(table) \(set) { \(elements.joined(separator: ", ")) }\n"
            }
        }
        return script
    }
}
