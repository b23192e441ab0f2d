import Foundation
import Guard
import Manifest
import Policy
import Runtime
import Telemetry

#if canImport(Glibc)
import Glibc
#endif

/// What the guard keeps across restarts (`guard-state.json` in the state directory): bans,
/// offence counts and the log position with the file's identity.
public struct GuardState: Codable, Sendable, Equatable {
    public struct StoredBan: Codable, Sendable, Equatable {
        public var ip: String
        public var since: Int
        public var until: Int?
        public var offence: Int
        public var reason: String

        public init(ip: String, since: Int, until: Int?, offence: Int, reason: String) {
            self.ip = ip
            self.since = since
            self.until = until
            self.offence = offence
            self.reason = reason
        }
    }

    public struct StoredOffence: Codable, Sendable, Equatable {
        public var ip: String
        public var count: Int
        public var last: Int

        public init(ip: String, count: Int, last: Int) {
            self.ip = ip
            self.count = count
            self.last = last
        }
    }

    public var bans: [StoredBan] = []
    public var offences: [StoredOffence] = []
    public var position: LogTail.Position?
    public var daemonPid: Int32?

    public init() {}

    public static func file(_ stateDirectory: String) -> String { "\(stateDirectory)/guard-state.json" }

    public static func load(_ stateDirectory: String) -> GuardState {
        guard let data = FileManager.default.contents(atPath: file(stateDirectory)),
              let state = try? JSONDecoder().decode(GuardState.self, from: data) else { return GuardState() }
        return state
    }

    public func save(_ stateDirectory: String) throws {
        try FileManager.default.createDirectory(atPath: stateDirectory, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        try encoder.encode(self).write(to: URL(fileURLWithPath: Self.file(stateDirectory)), options: .atomic)
    }

    var engineBans: [BanBook.Ban] {
        bans.compactMap { stored in
            IPAddress(stored.ip).map { BanBook.Ban(ip: $0, since: stored.since, until: stored.until, offence: stored.offence, reason: stored.reason) }
        }
    }
}

/// Chooses the firewall back end: the manifest's, when this process may use it; otherwise dry-run,
/// saying why.
public enum EnforcerChoice {
    public static func make(_ kind: EnforcerKind, namespace: String? = nil, say: (String) -> Void) -> any Enforcer {
        let commands = FirewallCommands(namespace: namespace)
        let binary = ["nftables": "nft", "ipset": "ipset", "iptables": "iptables"][kind.rawValue]
        if kind == .dryRun { say("guard: enforcer dry-run: bans are logged, the firewall is not touched"); return DryRunEnforcer(log: { print($0) }) }
        guard getuid() == 0 else {
            say("guard: enforcer dry-run: \(kind.rawValue) needs root (or CAP_NET_ADMIN); run as root for kernel bans")
            return DryRunEnforcer(log: { print($0) })
        }
        if let binary, (try? ChildProcess.resolve(binary)) == nil {
            say("guard: enforcer dry-run: \(binary) is not installed (scripts/setup.sh installs it)")
            return DryRunEnforcer(log: { print($0) })
        }
        say("guard: enforcer \(kind.rawValue): bans go into the kernel firewall")
        switch kind {
        case .nftables: return NFTablesEnforcer(commands: commands)
        case .ipset: return IPSetEnforcer(commands: commands)
        case .iptables: return IPTablesEnforcer(commands: commands)
        case .dryRun: return DryRunEnforcer()
        }
    }
}

/// `swiftdeploy guard run`: follows the access log, decides, bans in the firewall, alerts and keeps
/// an audit log, until SIGTERM/SIGINT. Bans stay in the kernel when it stops (they expire by their
/// own timeouts); at start the kernel is reconciled with the stored bans.
public final class GuardDaemon: @unchecked Sendable {
    public let settings: GuardSettings
    public let stateDirectory: String
    public let logPath: String
    public let enforcer: any Enforcer
    public let notifiers: [any Notifier]
    public let console: any Console
    var engine: GuardEngine
    var parser: GuardLogParser
    let tail: LogTail
    let auditPath: String
    let requestsPath: String

    public init(settings: GuardSettings, stateDirectory: String, logPath: String? = nil, enforcer: any Enforcer,
                notifiers: [any Notifier], console: any Console = TerminalConsole()) {
        self.settings = settings
        self.stateDirectory = stateDirectory
        self.logPath = logPath ?? settings.log
        self.enforcer = enforcer
        self.notifiers = notifiers
        self.console = console
        engine = GuardEngine(config: GuardConfig(settings))
        parser = GuardLogParser(settings)
        let stored = GuardState.load(stateDirectory)
        tail = LogTail(path: logPath ?? settings.log, startAtEnd: stored.position == nil, resume: stored.position)
        auditPath = "\(stateDirectory)/guard-audit.log"
        requestsPath = "\(stateDirectory)/guard-requests.jsonl"
        engine.restore(bans: stored.engineBans, offences: stored.offences.compactMap { offence in
            IPAddress(offence.ip).map { ($0, offence.count, offence.last) }
        })
    }

    var now: Int { Int(Date().timeIntervalSince1970) }

    func entry(_ ban: BanBook.Ban, at second: Int) -> EnforcedBan {
        EnforcedBan(address: ban.ip, prefix: ban.ip.isV4 ? 32 : settings.ipv6Prefix, seconds: ban.until.map { max(1, $0 - second) })
    }

    /// Installs the firewall objects and makes the kernel hold exactly the stored active bans.
    public func reconcile() throws {
        try enforcer.install()
        let second = now
        let expired = engine.banBook.active.values.filter { ($0.until ?? Int.max) <= second }
        engine.advance(to: second)
        handle(engine.drain())
        let stored = engine.banBook.active.values.map { entry($0, at: second) }
        try enforcer.ban(stored)
        let kernel = try enforcer.active()
        let ours = Set(engine.banBook.active.keys)
        let strays = kernel.subtracting(ours).map { EnforcedBan(address: $0, prefix: $0.isV4 ? 32 : settings.ipv6Prefix, seconds: nil) }
        try enforcer.unban(strays)
        console.say("guard: \(stored.count) stored bans in force, \(expired.count) expired while stopped, \(strays.count) stray kernel entries removed")
    }

    /// Runs until `stop()` answers true; polls the log every 10 ms and the timers every second.
    public func run(stop: @Sendable () -> Bool) async throws {
        try reconcile()
        var state = GuardState.load(stateDirectory)
        state.daemonPid = getpid()
        try state.save(stateDirectory)
        console.say("guard: following \(logPath) (\(settings.logFormat.rawValue)); audit log \(auditPath)")
        var lastTick = now
        while !stop() {
            var decided = false
            for line in tail.poll() {
                guard let event = line.withUnsafeBufferPointer({ parser.parse($0) }) else { continue }
                engine.ingest(event)
                if engine.hasDecisions { handle(engine.drain()); decided = true }
            }
            if now != lastTick {
                lastTick = now
                engine.advance(to: lastTick)
                if engine.hasDecisions { handle(engine.drain()); decided = true }
                if applyRequests() { decided = true }
                if decided || lastTick % 10 == 0 { try persist() }
            }
            try await Task.sleep(for: .milliseconds(10))
        }
        try persist(clearPid: true)
        console.say("guard: stopped; \(engine.banBook.active.count) bans stay in the kernel until they expire")
    }

    /// Applies decisions: firewall, audit log, notifiers.
    func handle(_ decisions: [GuardDecision]) {
        for decision in decisions {
            do {
                switch decision.action {
                case .ban:
                    if let ip = decision.ip, let ban = engine.banBook.active[ip] { try enforcer.ban([entry(ban, at: decision.at)]) }
                case .unban:
                    if let ip = decision.ip {
                        try enforcer.unban([EnforcedBan(address: ip, prefix: ip.isV4 ? 32 : settings.ipv6Prefix, seconds: nil)])
                    }
                default: break
                }
            } catch {
                console.warn("guard: firewall: \(error)")
            }
            appendAudit(decision.auditLine)
            if decision.action != .baselineRecalc { console.say(decision.auditLine) }
            notifiers.forEach { $0.notify(decision) }
        }
    }

    func appendAudit(_ line: String) {
        if !FileManager.default.fileExists(atPath: auditPath) { FileManager.default.createFile(atPath: auditPath, contents: nil) }
        guard let handle = FileHandle(forWritingAtPath: auditPath) else { return }
        defer { try? handle.close() }
        _ = try? handle.seekToEnd()
        try? handle.write(contentsOf: Data((line + "\n").utf8))
    }

    /// Manual bans and unbans queued by `guard bans add|remove` while the daemon runs.
    func applyRequests() -> Bool {
        guard let data = FileManager.default.contents(atPath: requestsPath), !data.isEmpty else { return false }
        try? Data().write(to: URL(fileURLWithPath: requestsPath))
        for line in data.split(separator: UInt8(ascii: "\n")) {
            guard let request = try? JSONDecoder().decode(BanRequest.self, from: Data(line)), let ip = IPAddress(request.ip) else { continue }
            let second = now
            let grouped = ip.isV4 ? ip : ip.masked(to: settings.ipv6Prefix)
            if request.action == "ban" {
                _ = engine.banManually(grouped, at: second, length: request.seconds)
            } else {
                _ = engine.unbanManually(grouped, at: second)
            }
            handle(engine.drain())
        }
        return true
    }

    func persist(clearPid: Bool = false) throws {
        var state = GuardState()
        state.bans = engine.banBook.active.values.sorted { $0.ip < $1.ip }.map {
            GuardState.StoredBan(ip: $0.ip.description, since: $0.since, until: $0.until, offence: $0.offence, reason: $0.reason)
        }
        state.offences = engine.banBook.offenceRecords.map { GuardState.StoredOffence(ip: $0.0.description, count: $0.1, last: $0.2) }
        state.position = tail.position ?? GuardState.load(stateDirectory).position
        state.daemonPid = clearPid ? nil : getpid()
        try state.save(stateDirectory)
    }
}

/// A manual ban or unban for the running daemon.
struct BanRequest: Codable {
    var action: String
    var ip: String
    var seconds: Int?
}

/// `swiftdeploy guard bans list|add|remove`: through the running daemon when there is one,
/// otherwise straight on the stored state and the firewall.
public struct GuardBansUseCase: Sendable {
    public let settings: GuardSettings
    public let stateDirectory: String
    public let console: any Console

    public init(settings: GuardSettings, stateDirectory: String, console: any Console = TerminalConsole()) {
        self.settings = settings
        self.stateDirectory = stateDirectory
        self.console = console
    }

    var daemonRunning: Bool { GuardState.load(stateDirectory).daemonPid.map(ChildProcess.isAlive) ?? false }

    public func list(json: Bool) {
        let state = GuardState.load(stateDirectory)
        let now = Int(Date().timeIntervalSince1970)
        let active = state.bans.filter { ($0.until ?? Int.max) > now }
        if json {
            let items = active.map { ban -> String in
                let remaining = ban.until.map { String($0 - now) } ?? "-1"
                return "{\"ip\":\"\(ban.ip)\",\"offence\":\(ban.offence),\"remaining_s\":\(remaining),\"reason\":\(JSONValue.string(ban.reason))}"
            }
            console.say("[\(items.joined(separator: ","))]")
            return
        }
        if active.isEmpty { console.say("no active bans"); return }
        let rows = [["ip", "offence", "remaining", "reason"]] + active.map { ban in
            [ban.ip, String(ban.offence), ban.until.map { StatusUseCase.duration(Double($0 - now)) } ?? "permanent", ban.reason]
        }
        TextTable.lines(rows).forEach { console.say($0) }
    }

    public func change(add: Bool, ip text: String, seconds: Int?) throws {
        guard let ip = IPAddress(text) else { throw LifecycleError("\(text) is not an IP address") }
        let request = BanRequest(action: add ? "ban" : "unban", ip: text, seconds: seconds)
        if daemonRunning {
            let path = "\(stateDirectory)/guard-requests.jsonl"
            if !FileManager.default.fileExists(atPath: path) { FileManager.default.createFile(atPath: path, contents: nil) }
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
            try handle.seekToEnd()
            try handle.write(contentsOf: try JSONEncoder().encode(request) + Data("\n".utf8))
            try handle.close()
            console.say("guard: \(add ? "ban" : "unban") of \(ip) handed to the running daemon")
            return
        }
        let enforcer = EnforcerChoice.make(settings.enforcer) { console.say($0) }
        try enforcer.install()
        var state = GuardState.load(stateDirectory)
        let now = Int(Date().timeIntervalSince1970)
        let grouped = ip.isV4 ? ip : ip.masked(to: settings.ipv6Prefix)
        let prefix = ip.isV4 ? 32 : settings.ipv6Prefix
        state.bans.removeAll { $0.ip == grouped.description }
        if add {
            let offence = (state.offences.first { $0.ip == grouped.description }?.count ?? 0) + 1
            state.bans.append(.init(ip: grouped.description, since: now, until: seconds.map { now + $0 }, offence: offence, reason: "manual"))
            state.offences.removeAll { $0.ip == grouped.description }
            state.offences.append(.init(ip: grouped.description, count: offence, last: now))
            try enforcer.ban([EnforcedBan(address: grouped, prefix: prefix, seconds: seconds)])
        } else {
            try enforcer.unban([EnforcedBan(address: grouped, prefix: prefix, seconds: nil)])
        }
        try state.save(stateDirectory)
        console.say("guard: \(add ? "banned" : "unbanned") \(grouped)\(add ? " for \(WebhookNotifier.length(seconds))" : "")")
    }
}
