import Foundation
import Synchronization
import Vocabulary

/// Logs what it would do and touches nothing.
public final class DryRunEnforcer: Enforcer, Sendable {
    public let name = "dry-run"
    public var expiresInKernel: Bool { false }
    private let banned = Mutex(Set<CIDR>())
    private let log: @Sendable (String) -> Void

    public init(log: @escaping @Sendable (String) -> Void = { _ in }) { self.log = log }

    public func install() throws { log("dry-run: no firewall is changed") }
    public func ban(_ entries: [EnforcedBan]) throws {
        banned.withLock { banned in entries.forEach { banned.insert($0.cidr) } }
        entries.forEach { log("dry-run: would ban \($0.text) for \($0.seconds.map { "\($0)s" } ?? "ever")") }
    }
    public func unban(_ entries: [EnforcedBan]) throws {
        banned.withLock { banned in entries.forEach { banned.remove($0.cidr) } }
        entries.forEach { log("dry-run: would unban \($0.text)") }
    }
    public func active() throws -> Set<CIDR> { banned.withLock { $0 } }
    public func uninstall() throws {}
}
