/// What one ban holds: one client (an IPv4 address, or an IPv6 address grouped by the guard's
/// `ipv6_prefix`) or an explicit address range (`10.0.0.0/8`, `2001:db8::/48`). Written as the
/// firewall and the operator write it: a client bare, a range with its prefix length.
public struct BanTarget: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The client's (grouped) address, or the range's network address.
    public let address: IPAddress
    /// The range's prefix length; nil for one client.
    public let range: Int?

    /// One client: `address` as the guard groups it.
    public init(client address: IPAddress) {
        self.address = address
        range = nil
    }

    /// A range; a prefix as long as the address (`/32`, `/128`) is one client.
    public init(network: IPAddress, prefix: Int) {
        let bits = network.isV4 ? 32 : 128
        let clamped = max(0, min(bits, prefix))
        address = network.masked(to: clamped)
        range = clamped == bits ? nil : clamped
    }

    /// `1.2.3.4` (a client) or `10.0.0.0/8` (a range, its host bits cleared); nil when it is neither.
    public init?(_ text: some StringProtocol) {
        guard let slash = text.firstIndex(of: "/") else {
            guard let address = IPAddress(text) else { return nil }
            self.init(client: address)
            return
        }
        guard let cidr = CIDR(text), text[text.index(after: slash)...].allSatisfy(\.isNumber) else { return nil }
        self.init(network: cidr.network, prefix: cidr.prefix)
    }

    /// The same target as the guard holds it: an IPv6 client grouped by `ipv6Prefix`, and an IPv6
    /// range no wider than one group taken as that group (the guard's IPv6 unit is the group).
    public func grouped(ipv6Prefix: Int) -> BanTarget {
        if address.isV4 { return self }
        if let range, range < ipv6Prefix { return self }
        return BanTarget(client: address.masked(to: ipv6Prefix))
    }

    /// The prefix length the firewall holds: the range's, or a client's (32, or `ipv6Prefix`).
    public func prefix(ipv6Prefix: Int) -> Int { range ?? (address.isV4 ? 32 : ipv6Prefix) }

    /// Whether `client` (an address as the guard groups it) lies in this range; false for a client target.
    public func covers(_ client: IPAddress) -> Bool {
        guard let range, client.isV4 == address.isV4 else { return false }
        return client.masked(to: range) == address
    }

    public var isRange: Bool { range != nil }

    /// The widest range a ban may hold: /8 of IPv4, /16 of IPv6. A wider one cuts off a large part
    /// of the Internet, likely the operator's own way in; one shared row must not be able to.
    public static let widest = (v4: 8, v6: 16)

    /// Wider than `widest`.
    public var isTooWide: Bool { range.map { $0 < (address.isV4 ? Self.widest.v4 : Self.widest.v6) } ?? false }

    public var description: String { range.map { "\(address)/\($0)" } ?? address.description }

    /// Clients before ranges of the same network, then by address and length.
    public static func < (a: BanTarget, b: BanTarget) -> Bool {
        (a.address, a.range ?? -1) < (b.address, b.range ?? -1)
    }
}
