/// An IPv4 or IPv6 address as 128 bits, cheap to hash and compare; IPv4 keeps its own family
/// so it prints and matches as IPv4. IPv4-mapped IPv6 (`::ffff:a.b.c.d`) is normalised to IPv4.
public struct IPAddress: Hashable, Sendable, Comparable, CustomStringConvertible {
    public let high: UInt64
    public let low: UInt64
    public let isV4: Bool

    private init(high: UInt64, low: UInt64, isV4: Bool) {
        self.high = high
        self.low = low
        self.isV4 = isV4
    }

    public init(v4 value: UInt32) {
        self.init(high: 0, low: UInt64(value), isV4: true)
    }

    public init(v6 high: UInt64, _ low: UInt64) {
        if high == 0 && low >> 32 == 0xFFFF {
            self.init(v4: UInt32(truncatingIfNeeded: low))
        } else {
            self.init(high: high, low: low, isV4: false)
        }
    }

    /// Parses dotted IPv4 or any textual IPv6 form; nil when the text is not an address.
    public init?(_ text: some StringProtocol) {
        var utf8 = Array(text.utf8)
        if let parsed = utf8.withUnsafeMutableBufferPointer({ IPAddress(bytes: UnsafeBufferPointer($0)) }) {
            self = parsed
        } else {
            return nil
        }
    }

    /// Byte-level parse for the log hot path.
    public init?(bytes: UnsafeBufferPointer<UInt8>) {
        if let v4 = Self.parseV4(bytes[...]) {
            self.init(v4: v4)
        } else if let (high, low) = Self.parseV6(bytes) {
            self.init(v6: high, low)
        } else {
            return nil
        }
    }

    var bitCount: Int { isV4 ? 32 : 128 }

    /// One word into the hasher instead of three: this is hashed for every log line.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(high &* 0x9E37_79B9_7F4A_7C15 ^ low)
    }

    /// This address with everything after the first `prefix` bits cleared.
    public func masked(to prefix: Int) -> IPAddress {
        if isV4 {
            let bits = max(0, min(32, prefix))
            let mask: UInt32 = bits == 0 ? 0 : ~UInt32(0) << (32 - bits)
            return IPAddress(v4: UInt32(low) & mask)
        }
        let bits = max(0, min(128, prefix))
        let highMask: UInt64 = bits >= 64 ? ~0 : (bits == 0 ? 0 : ~UInt64(0) << (64 - bits))
        let lowMask: UInt64 = bits <= 64 ? 0 : (bits == 128 ? ~0 : ~UInt64(0) << (128 - bits))
        return IPAddress(v6: high & highMask, low & lowMask)
    }

    public var description: String {
        if isV4 {
            let v = UInt32(low)
            return "\(v >> 24).\((v >> 16) & 0xFF).\((v >> 8) & 0xFF).\(v & 0xFF)"
        }
        let groups = (0..<8).map { index -> UInt16 in
            let word = index < 4 ? high : low
            return UInt16(truncatingIfNeeded: word >> (UInt64(3 - index % 4) * 16))
        }
        // RFC 5952: compress the longest run (≥ 2) of zero groups.
        var bestStart = -1, bestLength = 0, index = 0
        while index < 8 {
            if groups[index] == 0 {
                var end = index
                while end < 8 && groups[end] == 0 { end += 1 }
                if end - index > bestLength && end - index >= 2 { bestStart = index; bestLength = end - index }
                index = end
            } else {
                index += 1
            }
        }
        func hex(_ range: Range<Int>) -> String { range.map { String(groups[$0], radix: 16) }.joined(separator: ":") }
        if bestStart < 0 { return hex(0..<8) }
        return hex(0..<bestStart) + "::" + hex((bestStart + bestLength)..<8)
    }

    public static func < (a: IPAddress, b: IPAddress) -> Bool {
        (a.isV4 ? 0 : 1, a.high, a.low) < (b.isV4 ? 0 : 1, b.high, b.low)
    }

    private static func parseV4(_ bytes: Slice<UnsafeBufferPointer<UInt8>>) -> UInt32? {
        var value: UInt32 = 0, octet: UInt32 = 0, digits = 0, dots = 0
        for byte in bytes {
            if byte >= 48 && byte <= 57 {
                // No leading zero (`010` is octal to some readers): refused, as inet_pton refuses it.
                if digits == 1 && octet == 0 { return nil }
                octet = octet * 10 + UInt32(byte - 48)
                digits += 1
                if digits > 3 || octet > 255 { return nil }
            } else if byte == 46 {
                if digits == 0 || dots == 3 { return nil }
                value = value << 8 | octet
                octet = 0; digits = 0; dots += 1
            } else {
                return nil
            }
        }
        guard dots == 3, digits > 0 else { return nil }
        return value << 8 | octet
    }

    private static func parseV6(_ bytes: UnsafeBufferPointer<UInt8>) -> (UInt64, UInt64)? {
        var end = bytes.count
        // Drop a zone index (fe80::1%eth0).
        if let percent = bytes.firstIndex(of: 37) { end = percent }
        guard end >= 2 else { return nil }
        var head: [UInt16] = [], tail: [UInt16] = []
        var sawDoubleColon = false
        var index = 0
        if bytes[0] == 58 {
            guard bytes[1] == 58 else { return nil }
            sawDoubleColon = true
            index = 2
        }
        while index < end {
            // An embedded IPv4 tail (::ffff:1.2.3.4).
            var groupEnd = index
            while groupEnd < end && bytes[groupEnd] != 58 { groupEnd += 1 }
            let group = bytes[index..<groupEnd]
            if group.contains(46) {
                guard groupEnd == end, let v4 = parseV4(group) else { return nil }
                let words = [UInt16(v4 >> 16), UInt16(truncatingIfNeeded: v4)]
                if sawDoubleColon { tail += words } else { head += words }
                index = end
                break
            }
            guard !group.isEmpty, group.count <= 4 else { return nil }
            var word: UInt16 = 0
            for byte in group {
                let nibble: UInt8
                switch byte {
                case 48...57: nibble = byte - 48
                case 97...102: nibble = byte - 87
                case 65...70: nibble = byte - 55
                default: return nil
                }
                word = word << 4 | UInt16(nibble)
            }
            if sawDoubleColon { tail.append(word) } else { head.append(word) }
            index = groupEnd
            if index < end {
                index += 1  // the colon
                if index < end && bytes[index] == 58 {
                    if sawDoubleColon { return nil }
                    sawDoubleColon = true
                    index += 1
                } else if index == end {
                    return nil  // trailing single colon
                }
            }
        }
        let total = head.count + tail.count
        if sawDoubleColon ? total > 7 : total != 8 { return nil }
        let words = head + [UInt16](repeating: 0, count: 8 - total) + tail
        var high: UInt64 = 0, low: UInt64 = 0
        for (position, word) in words.enumerated() {
            if position < 4 { high = high << 16 | UInt64(word) } else { low = low << 16 | UInt64(word) }
        }
        return (high, low)
    }
}

/// An address block such as `10.0.0.0/8` or `2001:db8::/32`; a bare address is a /32 or /128.
extension IPAddress {
    /// The client this address is judged as: an IPv4 address itself, an IPv6 one by its prefix
    /// (a /64 is usually one subscriber).
    public func grouped(ipv6Prefix: Int) -> IPAddress { isV4 ? self : masked(to: ipv6Prefix) }

    /// Whether a host name reaches this host only: `localhost`, or a loopback address (127.0.0.0/8,
    /// `::1`, brackets allowed). A name that merely starts like one (`127.evil.example`) does not.
    public static func isLoopback(host: some StringProtocol) -> Bool {
        var name = Substring(host.lowercased())
        if name.hasPrefix("["), name.hasSuffix("]") { name = name.dropFirst().dropLast() }
        if name == "localhost" { return true }
        guard let address = IPAddress(name) else { return false }
        return address.isV4 ? address.masked(to: 8) == IPAddress(v4: 0x7F00_0000) : address == IPAddress(v6: 0, 1)
    }
}

public struct CIDR: Hashable, Sendable, CustomStringConvertible {
    public let network: IPAddress
    public let prefix: Int

    public init?(_ text: some StringProtocol) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count <= 2, let address = IPAddress(parts[0]) else { return nil }
        if parts.count == 2 {
            guard let bits = Int(parts[1]), bits >= 0, bits <= address.bitCount else { return nil }
            prefix = bits
        } else {
            prefix = address.bitCount
        }
        network = address.masked(to: prefix)
    }

    /// `address`/`prefix` with the host bits cleared (the prefix clamped to the family's length).
    public init(_ address: IPAddress, prefix: Int) {
        self.prefix = max(0, min(address.bitCount, prefix))
        network = address.masked(to: self.prefix)
    }

    public func contains(_ address: IPAddress) -> Bool {
        address.isV4 == network.isV4 && address.masked(to: prefix) == network
    }

    /// Whether this network and `address`/`prefix` share any address (one holds the other).
    public func overlaps(_ address: IPAddress, prefix other: Int) -> Bool {
        let common = min(prefix, other)
        return address.isV4 == network.isV4 && address.masked(to: common) == network.masked(to: common)
    }

    public var description: String { "\(network)/\(prefix)" }
}
