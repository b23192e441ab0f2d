/// What the guard needs from one request: when, who (after proxy resolution and IPv6 grouping)
/// and how it ended.
public struct ClientEvent: Sendable, Equatable {
    /// Seconds since the epoch, from the log line itself.
    public var timestamp: Double
    public var client: IPAddress
    public var status: Int

    public init(timestamp: Double, client: IPAddress, status: Int) {
        self.timestamp = timestamp
        self.client = client
        self.status = status
    }

    public var isError: Bool { status >= 400 }
}

/// Decides which address a request really came from. X-Forwarded-For is believed only when the peer
/// is a trusted proxy, and then its right-most hop that is not itself a trusted proxy is the client.
/// IPv6 clients are grouped by prefix (a /64 is usually one subscriber).
public struct ClientResolver: Sendable {
    public let trustedProxies: [CIDR]
    public let ipv6Prefix: Int

    public init(trustedProxies: [CIDR] = [], ipv6Prefix: Int = 64) {
        self.trustedProxies = trustedProxies
        self.ipv6Prefix = ipv6Prefix
    }

    func isTrusted(_ address: IPAddress) -> Bool { trustedProxies.contains { $0.contains(address) } }

    /// The client for a peer address and the raw X-Forwarded-For bytes (may be empty).
    public func client(peer: IPAddress, forwardedFor: UnsafeBufferPointer<UInt8>) -> IPAddress {
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
        return client.isV4 ? client : client.masked(to: ipv6Prefix)
    }
}
