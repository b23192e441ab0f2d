import Foundation
import Telemetry
import Vocabulary

/// Puts the guard's bans into the kernel firewall. Back ends: nftables (default), ipset + iptables,
/// plain iptables, dry-run. Each touches only what it created itself.
public protocol Enforcer: Sendable {
    var name: String { get }
    /// Creates our tables, sets and rules (idempotent).
    func install() throws
    /// Adds bans in one batch; a nil length is permanent. Re-banning an address refreshes its timeout.
    func ban(_ entries: [EnforcedBan]) throws
    func unban(_ entries: [EnforcedBan]) throws
    /// The addresses the kernel holds now, to reconcile with the stored bans at start.
    func active() throws -> Set<IPAddress>
    /// Removes everything we created.
    func uninstall() throws
    /// Whether the kernel lets bans expire on their own (so they survive the daemon).
    var expiresInKernel: Bool { get }
}

/// One ban as the firewall sees it: an address (or an IPv6 prefix) and how long.
public struct EnforcedBan: Sendable, Equatable {
    public var address: IPAddress
    /// Prefix length: 32/128 for one address, shorter for a group (IPv6 /64).
    public var prefix: Int
    /// Seconds left; nil is permanent.
    public var seconds: Int?

    public init(address: IPAddress, prefix: Int? = nil, seconds: Int?) {
        self.address = address
        self.prefix = prefix ?? (address.isV4 ? 32 : 128)
        self.seconds = seconds
    }

    var text: String { prefix == (address.isV4 ? 32 : 128) ? address.description : "\(address)/\(prefix)" }
}

/// Why the firewall refused; carries the command and its words.
public struct EnforcerError: Error, Sendable, CustomStringConvertible {
    public let description: String
}

/// Runs firewall commands, optionally inside a network namespace (`ip netns exec NAME`).
public struct FirewallCommands: Sendable {
    public let namespace: String?

    public init(namespace: String? = nil) { self.namespace = namespace }

    @discardableResult
    public func run(_ arguments: [String], input: String? = nil, allowFailure: Bool = false) throws -> (status: Int32, output: String) {
        let full = (namespace.map { ["ip", "netns", "exec", $0] } ?? []) + arguments
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = full
        let stdout = Pipe(), stdin = Pipe()
        process.standardOutput = stdout
        process.standardError = stdout
        process.standardInput = input == nil ? FileHandle.nullDevice : stdin
        do {
            try process.run()
        } catch {
            throw EnforcerError(description: "cannot run \(full.joined(separator: " ")): \(error)")
        }
        if let input {
            stdin.fileHandleForWriting.write(Data(input.utf8))
            try? stdin.fileHandleForWriting.close()
        }
        let output = String(decoding: stdout.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        if process.terminationStatus != 0 && !allowFailure {
            let hint = output.contains("Operation not permitted") ? " (the guard needs root or CAP_NET_ADMIN; or use enforcer: dry-run)" : ""
            throw EnforcerError(description: "\(arguments.joined(separator: " ")) failed (exit \(process.terminationStatus)): \(output.trimmingCharacters(in: .whitespacesAndNewlines))\(hint)")
        }
        return (process.terminationStatus, output)
    }
}

/// nftables: our own table `inet swiftdeploy` with IPv4 and IPv6 sets whose elements carry their own
/// timeouts (bans expire in the kernel even if the daemon dies), and drop rules in an input and a
/// forward chain (so container-published ports are covered). Every change is one `nft -f -` transaction.
public struct NFTablesEnforcer: Enforcer {
    public let name = "nftables"
    public let commands: FirewallCommands
    public let table: String
    public var expiresInKernel: Bool { true }

    public init(commands: FirewallCommands = FirewallCommands(), table: String = "swiftdeploy") {
        self.commands = commands
        self.table = table
    }

    public func install() throws {
        try commands.run(["nft", "-f", "-"], input: """
            add table inet \(table)
            add set inet \(table) banned4 { type ipv4_addr; flags timeout; }
            add set inet \(table) banned6 { type ipv6_addr; flags interval, timeout; }
            add chain inet \(table) input { type filter hook input priority -10; policy accept; }
            add chain inet \(table) forward { type filter hook forward priority -10; policy accept; }
            flush chain inet \(table) input
            flush chain inet \(table) forward
            add rule inet \(table) input ip saddr @banned4 drop
            add rule inet \(table) input ip6 saddr @banned6 drop
            add rule inet \(table) forward ip saddr @banned4 drop
            add rule inet \(table) forward ip6 saddr @banned6 drop

            """)
    }

    public func ban(_ entries: [EnforcedBan]) throws {
        guard !entries.isEmpty else { return }
        // Add (a no-op when present), delete, add with the new timeout: one transaction that
        // refreshes a ban or creates it, without asking the kernel first what it holds; one
        // statement per set and step, however many addresses.
        try commands.run(["nft", "-f", "-"], input: script(entries, steps: [("add", false), ("delete", false), ("add", true)]))
    }

    /// `nft` statements applying `steps` (verb, with timeouts) to the entries, grouped by set.
    func script(_ entries: [EnforcedBan], steps: [(verb: String, timeouts: Bool)]) -> String {
        var out = ""
        for (set, members) in [("banned4", entries.filter(\.address.isV4)), ("banned6", entries.filter { !$0.address.isV4 })] where !members.isEmpty {
            for step in steps {
                let elements = members.map { entry -> String in
                    entry.text + (step.timeouts ? entry.seconds.map { " timeout \(max(1, $0))s" } ?? "" : "")
                }
                out += "\(step.verb) element inet \(table) \(set) { \(elements.joined(separator: ", ")) }\n"
            }
        }
        return out
    }

    public func unban(_ entries: [EnforcedBan]) throws {
        guard !entries.isEmpty else { return }
        // Add first, so deleting an element that already expired is not an error.
        try commands.run(["nft", "-f", "-"], input: script(entries, steps: [("add", false), ("delete", false)]))
    }

    public func active() throws -> Set<IPAddress> {
        var addresses = Set<IPAddress>()
        for set in ["banned4", "banned6"] {
            let result = try commands.run(["nft", "list", "set", "inet", table, set], allowFailure: true)
            guard result.status == 0, let open = result.output.range(of: "elements = {") else { continue }
            let body = result.output[open.upperBound...].prefix { $0 != "}" }
            for item in body.split(whereSeparator: { $0 == "," || $0 == "\n" }) {
                let word = item.split(whereSeparator: { $0 == " " || $0 == "\t" }).first.map(String.init) ?? ""
                if let address = IPAddress(word.split(separator: "/").first ?? "") { addresses.insert(address) }
            }
        }
        return addresses
    }

    public func uninstall() throws {
        try commands.run(["nft", "delete", "table", "inet", table], allowFailure: true)
    }
}

/// ipset sets (`swiftdeploy4`, `swiftdeploy6`, with per-entry timeouts) and one iptables/ip6tables
/// rule each in INPUT and FORWARD, for hosts without nftables.
public struct IPSetEnforcer: Enforcer {
    public let name = "ipset"
    public let commands: FirewallCommands
    public var expiresInKernel: Bool { true }

    public init(commands: FirewallCommands = FirewallCommands()) { self.commands = commands }

    public func install() throws {
        try commands.run(["ipset", "create", "swiftdeploy4", "hash:net", "family", "inet", "timeout", "0", "-exist"])
        try commands.run(["ipset", "create", "swiftdeploy6", "hash:net", "family", "inet6", "timeout", "0", "-exist"])
        for (tool, set) in [("iptables", "swiftdeploy4"), ("ip6tables", "swiftdeploy6")] {
            for chain in ["INPUT", "FORWARD"] {
                let rule = [chain, "-m", "set", "--match-set", set, "src", "-j", "DROP", "-m", "comment", "--comment", "swiftdeploy"]
                if try commands.run([tool, "-C"] + rule, allowFailure: true).status != 0 { try commands.run([tool, "-I"] + rule) }
            }
        }
    }

    public func ban(_ entries: [EnforcedBan]) throws {
        guard !entries.isEmpty else { return }
        let script = entries.map { "add \($0.address.isV4 ? "swiftdeploy4" : "swiftdeploy6") \($0.text) timeout \($0.seconds ?? 0)\n" }.joined()
        try commands.run(["ipset", "restore", "-exist"], input: script)
    }

    public func unban(_ entries: [EnforcedBan]) throws {
        guard !entries.isEmpty else { return }
        // -exist: deleting an entry that already expired is not an error.
        let script = entries.map { "del \($0.address.isV4 ? "swiftdeploy4" : "swiftdeploy6") \($0.text)\n" }.joined()
        try commands.run(["ipset", "restore", "-exist"], input: script)
    }

    public func active() throws -> Set<IPAddress> {
        var addresses = Set<IPAddress>()
        for set in ["swiftdeploy4", "swiftdeploy6"] {
            let result = try commands.run(["ipset", "list", set], allowFailure: true)
            guard result.status == 0, let members = result.output.range(of: "Members:\n") else { continue }
            for line in result.output[members.upperBound...].split(separator: "\n") {
                if let address = IPAddress(line.split(separator: " ").first?.split(separator: "/").first ?? "") { addresses.insert(address) }
            }
        }
        return addresses
    }

    public func uninstall() throws {
        for (tool, set) in [("iptables", "swiftdeploy4"), ("ip6tables", "swiftdeploy6")] {
            for chain in ["INPUT", "FORWARD"] {
                let rule = [chain, "-m", "set", "--match-set", set, "src", "-j", "DROP", "-m", "comment", "--comment", "swiftdeploy"]
                while try commands.run([tool, "-C"] + rule, allowFailure: true).status == 0 { try commands.run([tool, "-D"] + rule) }
            }
            try commands.run(["ipset", "destroy", set], allowFailure: true)
        }
    }
}

/// Plain iptables/ip6tables: our own chain `SWIFTDEPLOY`, jumped to from INPUT and FORWARD, one DROP
/// rule per ban. The kernel has no timeouts here: the daemon lifts bans on its timer.
public struct IPTablesEnforcer: Enforcer {
    public let name = "iptables"
    public let commands: FirewallCommands
    public var expiresInKernel: Bool { false }

    public init(commands: FirewallCommands = FirewallCommands()) { self.commands = commands }

    public func install() throws {
        for tool in ["iptables", "ip6tables"] {
            try commands.run([tool, "-N", "SWIFTDEPLOY"], allowFailure: true)
            for chain in ["INPUT", "FORWARD"] where try commands.run([tool, "-C", chain, "-j", "SWIFTDEPLOY"], allowFailure: true).status != 0 {
                try commands.run([tool, "-I", chain, "-j", "SWIFTDEPLOY"])
            }
        }
    }

    public func ban(_ entries: [EnforcedBan]) throws {
        let present = try active()
        for entry in entries where !present.contains(entry.address) {
            try commands.run([entry.address.isV4 ? "iptables" : "ip6tables", "-A", "SWIFTDEPLOY", "-s", entry.text, "-j", "DROP"])
        }
    }

    public func unban(_ entries: [EnforcedBan]) throws {
        let present = try active()
        for entry in entries where present.contains(entry.address) {
            try commands.run([entry.address.isV4 ? "iptables" : "ip6tables", "-D", "SWIFTDEPLOY", "-s", entry.text, "-j", "DROP"], allowFailure: true)
        }
    }

    public func active() throws -> Set<IPAddress> {
        var addresses = Set<IPAddress>()
        for tool in ["iptables", "ip6tables"] {
            let result = try commands.run([tool, "-S", "SWIFTDEPLOY"], allowFailure: true)
            for line in result.output.split(separator: "\n") where line.hasPrefix("-A SWIFTDEPLOY -s ") {
                let source = line.dropFirst("-A SWIFTDEPLOY -s ".count).split(separator: " ").first ?? ""
                if let address = IPAddress(source.split(separator: "/").first ?? "") { addresses.insert(address) }
            }
        }
        return addresses
    }

    public func uninstall() throws {
        for tool in ["iptables", "ip6tables"] {
            for chain in ["INPUT", "FORWARD"] {
                while try commands.run([tool, "-C", chain, "-j", "SWIFTDEPLOY"], allowFailure: true).status == 0 {
                    try commands.run([tool, "-D", chain, "-j", "SWIFTDEPLOY"])
                }
            }
            try commands.run([tool, "-F", "SWIFTDEPLOY"], allowFailure: true)
            try commands.run([tool, "-X", "SWIFTDEPLOY"], allowFailure: true)
        }
    }
}

/// Logs what it would do and touches nothing.
public final class DryRunEnforcer: Enforcer, @unchecked Sendable {
    public let name = "dry-run"
    public var expiresInKernel: Bool { false }
    private let lock = NSLock()
    private var banned = Set<IPAddress>()
    private let log: @Sendable (String) -> Void

    public init(log: @escaping @Sendable (String) -> Void = { _ in }) { self.log = log }

    public func install() throws { log("dry-run: no firewall is changed") }
    public func ban(_ entries: [EnforcedBan]) throws {
        lock.withLock { entries.forEach { banned.insert($0.address) } }
        entries.forEach { log("dry-run: would ban \($0.text) for \($0.seconds.map { "\($0)s" } ?? "ever")") }
    }
    public func unban(_ entries: [EnforcedBan]) throws {
        lock.withLock { entries.forEach { banned.remove($0.address) } }
        entries.forEach { log("dry-run: would unban \($0.text)") }
    }
    public func active() throws -> Set<IPAddress> { lock.withLock { banned } }
    public func uninstall() throws {}
}
