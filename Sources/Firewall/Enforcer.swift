import Vocabulary

/// Puts the guard's bans into the kernel firewall. Back ends: nftables (default), ipset + iptables,
/// plain iptables, dry-run. Each touches only what it created itself. The kernel back ends build
/// their commands as values first (`FirewallCommand`, `FirewallStep`) and then run them, so what
/// they send is testable without root.
public protocol Enforcer: Sendable {
    var name: String { get }
    /// Creates our tables, sets and rules (idempotent).
    func install() throws
    /// Adds bans in one batch; a nil length is permanent. Re-banning an address refreshes its timeout.
    func ban(_ entries: [EnforcedBan]) throws
    func unban(_ entries: [EnforcedBan]) throws
    /// The addresses and ranges the kernel holds now, to reconcile with the stored bans at start.
    func active() throws -> Set<CIDR>
    /// Makes the kernel hold exactly `entries` (at start: the bans in force; IPv6 groups by
    /// `ipv6Prefix`); returns how many other addresses it held and lost, nil when the back end
    /// replaces its sets in one transaction without listing them.
    func replace(with entries: [EnforcedBan], ipv6Prefix: Int) throws -> Int?
    /// Removes everything we created.
    func uninstall() throws
    /// Whether the kernel lets bans expire on their own (so they survive the daemon).
    var expiresInKernel: Bool { get }
}

extension Enforcer {
    /// Adds the entries, then lifts whatever else the kernel lists.
    public func replace(with entries: [EnforcedBan], ipv6Prefix: Int) throws -> Int? {
        try ban(entries)
        let strays = try active().subtracting(entries.map(\.cidr)).map { EnforcedBan(address: $0.network, prefix: $0.prefix, seconds: nil) }
        try unban(strays)
        return strays.count
    }
}

/// One ban as the firewall sees it: an address (or an IPv6 group, or a range) and how long.
public struct EnforcedBan: Sendable, Equatable {
    public var address: IPAddress
    /// Prefix length: 32/128 for one address, shorter for a group (IPv6 /64) or a range.
    public var prefix: Int
    /// A range banned as such (`guard bans add 10.0.0.0/8`), not one client: nftables keeps ranges
    /// in their own interval sets, where clients' elements cannot overlap them.
    public var isRange: Bool
    /// Seconds left; nil is permanent.
    public var seconds: Int?

    public init(address: IPAddress, prefix: Int? = nil, isRange: Bool = false, seconds: Int?) {
        self.address = address
        self.prefix = prefix ?? (address.isV4 ? 32 : 128)
        self.isRange = isRange
        self.seconds = seconds
    }

    /// The address and prefix as one value (what a listing of the kernel gives back).
    public var cidr: CIDR { CIDR(address, prefix: prefix) }

    /// The kernel timeout for a firewall that holds at most `limit` seconds: a longer ban gets none
    /// (permanent in the kernel, lifted by the guard when due), so one long ban never makes the whole
    /// batch fail (issue 27, M2: ipset refused `30d` and blocked every later ban).
    func kernelSeconds(atMost limit: Int) -> Int? { seconds.flatMap { $0 <= limit ? $0 : nil } }

    /// The address as the firewall tools write it: bare for one address, `address/prefix` for a group.
    var text: String { prefix == (address.isV4 ? 32 : 128) ? address.description : "\(address)/\(prefix)" }
}
