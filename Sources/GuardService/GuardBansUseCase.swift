import Foundation
import Guard
import Logging
import Manifest
import Spawn
import Telemetry
import Vocabulary

#if canImport(Glibc)
import Glibc
#endif

/// `swiftdeploy guard bans list|add|remove`: through the running daemon when there is one,
/// otherwise straight on the store and the firewall.
public struct GuardBansUseCase: Sendable {
    public let settings: GuardSettings
    public let stateDirectory: String
    public let console: any Console

    public init(settings: GuardSettings, stateDirectory: String, console: any Console = TerminalConsole()) {
        self.settings = settings
        self.stateDirectory = stateDirectory
        self.console = console
    }

    func openStore() throws -> GuardStore { try GuardStore(path: GuardStore.path(stateDirectory: stateDirectory)) }

    public func list(json: Bool) throws {
        let now = Int(Date().timeIntervalSince1970)
        let active = try openStore().bans().filter { ($0.until ?? Int.max) > now }
        if json {
            console.say(active.map { ListedBan(ip: $0.ip.description, offence: $0.offence, remainingSeconds: $0.until.map { $0 - now } ?? -1,
                                               reason: $0.reason) }.jsonLine)
            return
        }
        if active.isEmpty { console.say("no active bans"); return }
        let rows = [["ip", "offence", "remaining", "reason"]] + active.map { ban in
            [ban.ip.description, String(ban.offence), ban.until.map { Duration.seconds($0 - now).readable } ?? "permanent", ban.reason]
        }
        TextTable.lines(rows).forEach { console.say($0) }
    }

    public func change(add: Bool, ip text: String, seconds: Int?) throws {
        guard let ip = IPAddress(text) else { throw GuardCommandError.notAnAddress(text) }
        if add, GuardConfig(daemon: settings).shields(ip.grouped(ipv6Prefix: settings.ipv6Prefix)) {
            throw GuardCommandError.shielded(ip.description)
        }
        let store = try openStore()
        let request = GuardStore.Request(action: add ? .ban : .unban, ip: ip, seconds: seconds)
        if let pid = try store.load().daemonPid, ChildProcess.isAlive(pid) {
            try store.enqueue(request)
            console.say("guard: \(add ? "ban" : "unban") of \(ip) handed to the running daemon (pid \(pid))")
            return
        }
        // No daemon: the same engine decides (offence count, grouping), then the firewall and the store.
        let enforcer = EnforcerChoice.make(settings.enforcer) { console.say($0) }
        try enforcer.install()
        let daemon = try GuardDaemon(settings: settings, stateDirectory: stateDirectory, enforcer: enforcer, notifiers: [], console: console)
        let now = Int(Date().timeIntervalSince1970)
        guard daemon.apply(request, at: now) != nil else { console.say("guard: \(ip) is not banned"); return }
        let decisions = daemon.engine.drain()
        daemon.checkpoint(decisions)
        daemon.handle(decisions)
        if daemon.storeProblem != nil { throw GuardCommandError.notSaved }
    }
}

/// One active ban in `guard bans list --json`; `remaining_s` -1 is permanent.
public struct ListedBan: Codable, Sendable, Equatable {
    public var ip: String
    public var offence: Int
    public var remainingSeconds: Int
    public var reason: String

    enum CodingKeys: String, CodingKey {
        case ip, offence, remainingSeconds = "remaining_s", reason
    }
}
