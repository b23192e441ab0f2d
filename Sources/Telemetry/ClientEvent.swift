import EdgeRules
import Vocabulary
/// What the guard needs from one request: when, who (after proxy resolution and IPv6 grouping),
/// how it ended and what kind of request it was.
public struct ClientEvent: Sendable, Equatable {
    /// Seconds since the epoch, from the log line itself.
    public var timestamp: Double
    /// The client as the guard judges it: the address, or its IPv6 prefix group.
    public var client: IPAddress
    /// The full address (allow lists match this, not the group).
    public var address: IPAddress
    public var status: Int
    public var kind: RequestKind
    /// Hash of the path without its query (distinct-path counting).
    public var path: UInt32
    /// Hash of the user agent (how many agents share an address).
    public var agent: UInt32
    public var agentKind: AgentKind
    /// A failed request for a path only a scanner asks for.
    public var isProbe: Bool

    public init(timestamp: Double, client: IPAddress, status: Int, kind: RequestKind = .page, path: UInt32 = 0,
                agent: UInt32 = 0, agentKind: AgentKind = .other, isProbe: Bool = false, address: IPAddress? = nil) {
        self.timestamp = timestamp
        self.client = client
        self.address = address ?? client
        self.status = status
        self.kind = kind
        self.path = path
        self.agent = agent
        self.agentKind = agentKind
        self.isProbe = isProbe
    }

    public var isError: Bool { status >= 400 }
    /// A request a browser would not repeat: not found, forbidden, gone, bad request.
    public var isNotFound: Bool { status == 404 || status == 403 || status == 410 || status == 400 || status == 405 }
    /// A login attempt that did not succeed (a successful login redirects).
    public var isLoginFailure: Bool { kind == .login && !(300..<400).contains(status) }
}

/// Decides which address a request really came from. X-Forwarded-For is believed only when the peer
/// is a trusted proxy, and then its right-most hop that is not itself a trusted proxy is the client.
/// IPv6 clients are grouped by prefix (a /64 is usually one subscriber).
public struct ClientResolver: Sendable {
    public let trustedProxies: [CIDR]
    public let ipv6Prefix: Int

    public init(trustedProxies: [CIDR] = [], ipv6Prefix: Int = GuardDefaults.ipv6Prefix) {
        self.trustedProxies = trustedProxies
        self.ipv6Prefix = ipv6Prefix
    }

    func isTrusted(_ address: IPAddress) -> Bool { trustedProxies.contains { $0.contains(address) } }

    /// The client for a peer address and the raw X-Forwarded-For bytes (may be empty).
    public func client(peer: IPAddress, forwardedFor: UnsafeBufferPointer<UInt8>) -> IPAddress {
        resolve(peer: peer, forwardedFor: forwardedFor).group
    }

    /// The client's full address and the group the guard judges it by.
    public func resolve(peer: IPAddress, forwardedFor: UnsafeBufferPointer<UInt8>) -> (address: IPAddress, group: IPAddress) {
        var client = peer
        if !trustedProxies.isEmpty, isTrusted(peer), !forwardedFor.isEmpty {
            // Walk the hops from the right; the first one that is not a trusted proxy is the client.
            var end = forwardedFor.count
            while end > 0 {
                var start = end
                while start > 0, forwardedFor[start - 1] != UInt8(ascii: ",") { start -= 1 }
                var lower = start, upper = end
                while lower < upper, forwardedFor[lower] == 0x20 { lower += 1 }
                while upper > lower, forwardedFor[upper - 1] == 0x20 { upper -= 1 }
                guard let hop = IPAddress(bytes: UnsafeBufferPointer(rebasing: forwardedFor[lower..<upper])) else { break }
                client = hop
                if !isTrusted(hop) { break }
                end = start - 1
            }
        }
        return (client, client.grouped(ipv6Prefix: ipv6Prefix))
    }
}
