import Foundation
import Detection
import Firewall
import Manifest
import Testing
import Vocabulary

@testable import GuardService

struct Refused: Error, CustomStringConvertible { var description: String { "nft: Too many open files" } }

/// A firewall that refuses its first `refusals` batches (no descriptor left, `nft` busy), then works.
final class RefusingFirewall: Enforcer, @unchecked Sendable {
    let name = "refusing"
    var expiresInKernel: Bool { true }
    private let lock = NSLock()
    private var refusals: Int
    private(set) var banned = Set<IPAddress>()

    /// An entry this firewall never takes (a length or address it cannot hold): its batch fails.
    let poison: IPAddress?

    init(refusals: Int, poison: IPAddress? = nil) { (self.refusals, self.poison) = (refusals, poison) }

    private func attempt(_ entries: [EnforcedBan] = []) throws {
        try lock.withLock {
            guard refusals == 0 else { refusals -= 1; throw Refused() }
            if let poison, entries.contains(where: { $0.address == poison }) { throw Refused() }
        }
    }

    func install() throws {}
    func ban(_ entries: [EnforcedBan]) throws { try attempt(entries); lock.withLock { entries.forEach { banned.insert($0.address) } } }
    func unban(_ entries: [EnforcedBan]) throws { try attempt(); lock.withLock { entries.forEach { banned.remove($0.address) } } }
    func active() throws -> Set<CIDR> { lock.withLock { Set(banned.map { CIDR($0, prefix: $0.isV4 ? 32 : 128) }) } }
    func uninstall() throws {}
}

struct QuietConsole: Console {
    func say(_ line: String, terminator: String) {}
    func warn(_ line: String) {}
}

@Suite struct FirewallRetry {
    /// A daemon on an empty log in a fresh folder (removed by the caller), banning through `firewall`.
    func daemon(_ firewall: RefusingFirewall) throws -> (GuardDaemon, String) {
        let directory = NSTemporaryDirectory() + "swiftdeploy-retry-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: "\(directory)/access.log", contents: nil)
        let manifest = try ManifestLoader.parse(yaml: "name: retry\nservices:\n  app: { command: [x], port: 3000 }\nguard: { log: access.log, enforcer: dry-run }\n",
                                                file: "swiftdeploy.yaml", directory: directory)
        return (try GuardDaemon(settings: manifest.guardSettings, stateDirectory: directory, enforcer: firewall, notifiers: [], console: QuietConsole()), directory)
    }

    @Test func aRefusedBanIsRetriedUntilTheKernelHasIt() throws {
        let firewall = RefusingFirewall(refusals: 2)
        let (daemon, directory) = try daemon(firewall)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let attacker = IPAddress("203.0.113.9")!
        let start = Int(Date().timeIntervalSince1970)
        #expect(daemon.apply(.init(action: .ban, target: BanTarget(client: attacker), seconds: 600), at: start) != nil)
        daemon.step(at: start)      // refused
        #expect(Array(daemon.firewall.pending.keys) == [BanTarget(client: attacker)] && daemon.firewall.failures == 1)
        daemon.step(at: start + 1)  // refused again
        daemon.step(at: start + 2)  // taken
        #expect(firewall.banned == [attacker])
        #expect(daemon.firewall.pending.isEmpty && daemon.firewall.failures == 2)
    }

    /// One entry the firewall refuses never holds back the rest of its batch.
    @Test func oneRefusedEntryNeverBlocksTheOthers() throws {
        let poison = IPAddress("203.0.113.66")!
        let firewall = RefusingFirewall(refusals: 0, poison: poison)
        let (daemon, directory) = try daemon(firewall)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let start = Int(Date().timeIntervalSince1970)
        let others = (1...5).map { IPAddress("203.0.113.\($0)")! }
        for ip in others + [poison] { #expect(daemon.apply(.init(action: .ban, target: BanTarget(client: ip), seconds: 600), at: start) != nil) }
        daemon.step(at: start)
        #expect(firewall.banned == Set(others), "the batch failed; each other entry went in on its own")
        #expect(Array(daemon.firewall.pending.keys) == [BanTarget(client: poison)], "only the refused entry waits, and is tried again")
        let later = IPAddress("203.0.113.7")!
        #expect(daemon.apply(.init(action: .ban, target: BanTarget(client: later), seconds: 600), at: start + 1) != nil)
        daemon.step(at: start + 1)
        #expect(firewall.banned.contains(later), "a later ban is not held back by the refused one")
    }

    /// The queue holds what was decided: the latest decision per address wins, and a ban goes in
    /// with what is left of it when the firewall finally takes it.
    @Test func theQueueSendsTheLatestDecisionWithWhatIsLeftOfTheBan() {
        let firewall = RecordingFirewall()
        var queue = EnforcementQueue()
        let (kept, lifted) = (IPAddress("198.51.100.1")!, IPAddress("2001:db8:1:2::9")!)
        func decision(_ action: GuardDecision.Action, _ ip: IPAddress, at second: Int, until: Int?) -> GuardDecision {
            var decision = GuardDecision(at: second, action: action, ip: ip, duration: until.map { $0 - second }, condition: "test", rate: 0, baseline: 0)
            decision.ban = BanBook.Ban(ip: ip, since: second, until: until, offence: 1, reason: "test")
            return decision
        }
        queue.queue(decision(.ban, kept, at: 1000, until: 1600))
        queue.queue(decision(.ban, lifted, at: 1000, until: nil))
        queue.queue(decision(.unban, lifted, at: 1001, until: nil))
        #expect(queue.flush(to: firewall, at: 1100, ipv6Prefix: 64) == .applied(recovered: nil))
        #expect(firewall.banned == [EnforcedBan(address: kept, prefix: 32, seconds: 500)])
        #expect(firewall.lifted == [EnforcedBan(address: lifted, prefix: 64, seconds: nil)])
        #expect(queue.pending.isEmpty && queue.flush(to: firewall, at: 1101, ipv6Prefix: 64) == .nothingPending)
    }
}

/// A firewall that keeps every entry it was given.
final class RecordingFirewall: Enforcer, @unchecked Sendable {
    let name = "recording"
    var expiresInKernel: Bool { true }
    private(set) var banned: [EnforcedBan] = []
    private(set) var lifted: [EnforcedBan] = []
    func install() throws {}
    func ban(_ entries: [EnforcedBan]) throws { banned += entries }
    func unban(_ entries: [EnforcedBan]) throws { lifted += entries }
    func active() throws -> Set<CIDR> { Set(banned.map(\.cidr)) }
    func uninstall() throws {}
}
