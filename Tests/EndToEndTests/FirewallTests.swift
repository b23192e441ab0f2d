import Deploy
import Foundation
import Firewall
import Telemetry
import TestSupport
import Testing
import Spawn
import Vocabulary
import GuardService

/// Two network namespaces joined by a veth pair, made by the test and removed after it: an HTTP
/// server in one, a client in the other. Addresses exist only inside them.
final class NamespacePair: @unchecked Sendable {
    let tag = String(UInt32.random(in: 0..<UInt32.max), radix: 16)
    let server: String, client: String
    let subnet = Int.random(in: 1...250)
    var serverV4: String { "10.251.\(subnet).1" }
    var clientV4: String { "10.251.\(subnet).2" }
    var serverV6: String { "fd00:251:\(String(subnet, radix: 16))::1" }
    var clientV6: String { "fd00:251:\(String(subnet, radix: 16))::2" }
    private var http: pid_t?

    static var isRoot: Bool { getuid() == 0 }

    init() throws {
        server = "sds\(tag)"
        client = "sdc\(tag)"
        let veth = "v\(tag)"
        try sh("ip netns add \(server)")
        try sh("ip netns add \(client)")
        try sh("ip link add \(veth)s type veth peer name \(veth)c")
        try sh("ip link set \(veth)s netns \(server)")
        try sh("ip link set \(veth)c netns \(client)")
        try sh("ip -n \(server) addr add \(serverV4)/24 dev \(veth)s")
        try sh("ip -n \(client) addr add \(clientV4)/24 dev \(veth)c")
        try sh("ip -n \(server) addr add \(serverV6)/64 dev \(veth)s nodad")
        try sh("ip -n \(client) addr add \(clientV6)/64 dev \(veth)c nodad")
        for (ns, dev) in [(server, "\(veth)s"), (client, "\(veth)c")] {
            try sh("ip -n \(ns) link set lo up")
            try sh("ip -n \(ns) link set \(dev) up")
        }
        // posix_spawn with no descriptor of ours (not Foundation's Process): a long-lived server must
        // not inherit the descriptors by which Foundation notices its other children exit.
        http = try ChildProcess.spawn(["ip", "netns", "exec", server, "python3", "-m", "http.server", "8000", "--bind", "::"], logFile: "/dev/null")
        for _ in 0..<100 where !reachable(serverV4) { usleep(50_000) }  // bounded: 5 s for the server to listen
    }

    deinit {
        // SIGKILL: a child of a test thread inherits its blocked signals, so SIGTERM may never arrive.
        if let http {
            kill(http, SIGKILL)
            while ChildProcess.isAlive(http) { usleep(10_000) }
        }
        _ = try? sh("ip netns del \(server)")
        _ = try? sh("ip netns del \(client)")
    }

    /// One request from the client namespace, one second at most.
    func reachable(_ address: String) -> Bool {
        let host = address.contains(":") ? "[\(address)]" : address
        return (try? sh("ip netns exec \(client) curl -s -m 1 -o /dev/null -w %{http_code} http://\(host):8000/")) == "200"
    }

    /// Reachable within five tries (bounded: about 5 s): where a path is expected to work, a loaded
    /// machine's slow neighbour discovery (IPv6 after a lifted ban) must not read as a ban.
    func reachableSoon(_ address: String) -> Bool {
        (0..<5).contains { _ in reachable(address) }
    }

    /// Started with posix_spawn, not Foundation's Process: under parallel tests Foundation's pipes
    /// closed a descriptor SwiftNIO had reused for its epoll (CI crashed with EBADF in epoll_ctl).
    @discardableResult
    func sh(_ command: String) throws -> String {
        let result = try ChildProcess.run(["/bin/sh", "-c", command])
        guard result.status == 0 else { throw ShellFailure(description: "\(command): \(result.output)") }
        return result.output.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

/// Real bans in a real kernel firewall, for every back end and both address families.
@Suite(.serialized, .enabled(if: NamespacePair.isRoot, "firewall tests need root: run scripts/test as root (CI does)"))
struct KernelFirewall {
    static let backEnds = ["nftables", "ipset", "iptables"]

    func enforcer(_ name: String, in namespace: String) -> any Enforcer {
        let commands = FirewallCommands(namespace: namespace)
        switch name {
        case "nftables": return NFTablesEnforcer(commands: commands)
        case "ipset": return IPSetEnforcer(commands: commands)
        default: return IPTablesEnforcer(commands: commands)
        }
    }

    @Test(arguments: backEnds)
    func banBlocksAndUnbanRestoresForBothFamilies(backEnd: String) throws {
        let pair = try NamespacePair()
        // Someone else's rules, which we must never touch.
        try pair.sh("ip netns exec \(pair.server) nft add table inet foreign")
        try pair.sh("ip netns exec \(pair.server) iptables -A INPUT -s 192.0.2.77 -j ACCEPT")
        let firewall = enforcer(backEnd, in: pair.server)
        try firewall.install()
        try firewall.install()  // idempotent
        for (client, server, prefix) in [(pair.clientV4, pair.serverV4, 32), (pair.clientV6, pair.serverV6, 64)] {
            let address = IPAddress(client)!.masked(to: prefix)
            let entry = EnforcedBan(address: address, prefix: prefix, seconds: 600)
            #expect(pair.reachableSoon(server), "\(backEnd): \(server) reachable before the ban")
            try firewall.ban([entry])
            #expect(try firewall.active().contains(entry.cidr))
            #expect(!pair.reachable(server), "\(backEnd): \(client) banned")
            try firewall.ban([entry])  // refreshing a ban is fine
            try firewall.unban([entry])
            #expect(!(try firewall.active().contains(entry.cidr)))
            #expect(pair.reachableSoon(server), "\(backEnd): \(client) unbanned")
        }
        try firewall.uninstall()
        let ruleset = try pair.sh("ip netns exec \(pair.server) nft list ruleset")
        #expect(ruleset.contains("table inet foreign"), "a table we did not create survives")
        #expect(!ruleset.contains("swiftdeploy") && !ruleset.contains("SWIFTDEPLOY"), "\(backEnd) left:\n\(ruleset)")
        #expect(try pair.sh("ip netns exec \(pair.server) iptables -S INPUT").contains("-A INPUT -s 192.0.2.77/32 -j ACCEPT"))
    }

    @Test(arguments: ["nftables", "ipset"])
    func bansExpireInTheKernelOnTheirOwn(backEnd: String) throws {
        let pair = try NamespacePair()
        let firewall = enforcer(backEnd, in: pair.server)
        try firewall.install()
        defer { try? firewall.uninstall() }
        let started = ContinuousClock.now
        try firewall.ban([EnforcedBan(address: IPAddress(pair.clientV4)!, seconds: 2)])
        #expect(!pair.reachable(pair.serverV4))
        var back = false
        for _ in 0..<8 where !back {  // bounded: the ban ends after 2 s; each try takes at most 1 s
            back = pair.reachable(pair.serverV4)
            if !back { usleep(250_000) }
        }
        #expect(back, "the kernel lifted the ban without the daemon")
        #expect(ContinuousClock.now - started >= .milliseconds(1500))
    }

    /// At start the kernel is made to hold exactly the bans in force: a stray entry (a ban lifted
    /// while no daemon ran) goes, the kept ones stay, for both families.
    @Test(arguments: backEnds)
    func replaceLeavesExactlyTheBansInForce(backEnd: String) throws {
        let pair = try NamespacePair()
        let firewall = enforcer(backEnd, in: pair.server)
        try firewall.install()
        defer { try? firewall.uninstall() }
        let client = EnforcedBan(address: IPAddress(pair.clientV4)!, seconds: 600)
        let clientV6 = EnforcedBan(address: IPAddress(pair.clientV6)!.masked(to: 64), prefix: 64, seconds: 600)
        let kept = EnforcedBan(address: IPAddress("192.0.2.10")!, seconds: 600)
        try firewall.ban([client, clientV6, kept])
        #expect(!pair.reachable(pair.serverV4) && !pair.reachable(pair.serverV6))
        let fresh = EnforcedBan(address: IPAddress("192.0.2.11")!, seconds: nil)
        let lost = try firewall.replace(with: [kept, fresh], ipv6Prefix: 64)
        #expect(try firewall.active() == [kept.cidr, fresh.cidr])
        #expect(pair.reachableSoon(pair.serverV4) && pair.reachableSoon(pair.serverV6), "\(backEnd): the strays are lifted")
        #expect(lost == nil || lost == 2, "\(backEnd) says how many it lifted, or that it replaced without listing")
    }

    /// A range drops every address in it, beside a ban of one address inside it (nftables keeps
    /// ranges in their own interval sets: one set refuses overlapping elements), for both families.
    @Test(arguments: backEnds)
    func rangeBansDropEveryAddressInThem(backEnd: String) throws {
        let pair = try NamespacePair()
        let firewall = enforcer(backEnd, in: pair.server)
        try firewall.install()
        defer { try? firewall.uninstall() }
        for (client, server, prefix, group) in [(pair.clientV4, pair.serverV4, 24, 32), (pair.clientV6, pair.serverV6, 48, 64)] {
            let address = IPAddress(client)!
            let range = EnforcedBan(address: address.masked(to: prefix), prefix: prefix, isRange: true, seconds: 600)
            let inside = EnforcedBan(address: address.masked(to: group), prefix: group, seconds: 600)
            try firewall.ban([inside])
            try firewall.ban([range])
            #expect(!pair.reachable(server), "\(backEnd): \(client) dropped")
            #expect(try firewall.active().isSuperset(of: [range.cidr, inside.cidr]))
            try firewall.unban([inside])
            #expect(!pair.reachable(server), "\(backEnd): the range still drops \(client) once its own ban is lifted")
            try firewall.unban([range])
            #expect(pair.reachableSoon(server), "\(backEnd): \(client) back once the range is lifted")
        }
    }

    /// What `guard bench apply` measures, checked: 100,000 bans in one transaction all reach the kernel.
    @Test func hundredThousandBansGoInAsOneTransaction() throws {
        let pair = try NamespacePair()
        let figures = try FirewallBenchmark.apply(100_000, enforcer: NFTablesEnforcer(commands: FirewallCommands(namespace: pair.server)))
        #expect(figures.inKernel == 100_000)
        #expect(try pair.sh("ip netns exec \(pair.server) nft list tables").isEmpty, "and removed again")
    }
}

struct ShellFailure: Error, CustomStringConvertible {
    let description: String
}
