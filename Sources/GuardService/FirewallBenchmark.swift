import Foundation
import Firewall
import Telemetry
import Vocabulary

/// `swiftdeploy guard bench apply N`: N bans into nftables in one transaction, timed, checked in
/// the kernel and removed again. Run it in a network namespace of its own (scripts/bench-guard does).
public enum FirewallBenchmark {
    public struct Figures: Sendable {
        public var bans: Int
        public var seconds: Double
        public var inKernel: Int
    }

    /// Runs on a table of its own (`swiftdeploy_bench`), so the guard's bans are never touched.
    public static func apply(_ count: Int, enforcer: any Enforcer = NFTablesEnforcer(table: "swiftdeploy_bench")) throws -> Figures {
        try enforcer.install()
        defer { try? enforcer.uninstall() }
        // 100.64.0.0/10 (shared address space): never a real client of a test host.
        let bans = (0..<count).map { EnforcedBan(address: IPAddress(v4: 0x6440_0000 + UInt32($0)), seconds: 600) }
        let started = ContinuousClock.now
        try enforcer.ban(bans)
        let elapsed = ContinuousClock.now - started
        return Figures(bans: count, seconds: elapsed.seconds, inKernel: try enforcer.active().count)
    }
}
