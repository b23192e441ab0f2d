import EdgeRules
import Vocabulary

/// A group of addresses judged together: an IPv4 /24 or /16, an IPv6 /48, or an autonomous system.
/// Scrapers of many quiet addresses are seen only at this level (issue 30).
public struct CohortKey: Hashable, Sendable, Comparable, CustomStringConvertible {
    public enum Level: UInt8, Sendable, CaseIterable, Comparable {
        case v4Slash24, v4Slash16, v6Slash48, system

        public static func < (a: Level, b: Level) -> Bool { a.rawValue < b.rawValue }
    }

    public let level: Level
    /// The network's leading bits (prefixes), or the AS number.
    public let value: UInt64

    public init(level: Level, value: UInt64) { (self.level, self.value) = (level, value) }

    /// One word into the hasher (a look hashes every visitor's three or four cohorts).
    public func hash(into hasher: inout Hasher) {
        hasher.combine(value &* 0x9E37_79B9_7F4A_7C15 ^ UInt64(level.rawValue))
    }

    /// The range a prefix cohort is (what a ban of it holds); nil for an autonomous system.
    public var range: BanTarget? {
        switch level {
        case .v4Slash24: BanTarget(network: IPAddress(v4: UInt32(truncatingIfNeeded: value << 8)), prefix: 24)
        case .v4Slash16: BanTarget(network: IPAddress(v4: UInt32(truncatingIfNeeded: value << 16)), prefix: 16)
        case .v6Slash48: BanTarget(network: IPAddress(v6: value << 16, 0), prefix: 48)
        case .system: nil
        }
    }

    public var description: String { range?.description ?? "AS\(value)" }

    public static func < (a: CohortKey, b: CohortKey) -> Bool { (a.level, a.value) < (b.level, b.value) }
}

extension CohortSettings {
    /// Least naked addresses for a cohort of this level: a /16 or a system, being larger, needs more.
    func minimum(_ level: CohortKey.Level) -> Int {
        switch level {
        case .v4Slash24, .v6Slash48: minimumAddresses
        case .system: minimumAddresses * 2
        case .v4Slash16: minimumAddresses * 3
        }
    }
}
