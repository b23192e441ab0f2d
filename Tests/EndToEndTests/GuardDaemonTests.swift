import Deploy
import Foundation
import Detection
import Firewall
import GuardStorage
import Hummingbird
import HummingbirdTesting
import Manifest
import Telemetry
import TestSupport
import Testing
import Vocabulary
import GuardService

@Suite(.serialized, .enabled(if: NamespacePair.isRoot, "kernel-ban tests need root: run scripts/test as root (CI does)"))
struct GuardDaemonEndToEnd {
    /// The daemon follows a real log file, bans the flooding client in nftables inside a namespace
    /// (its requests then fail), lifts the ban when due, and tells Slack both; the webhook fails its
    /// first post and the message still arrives.
    @Test func logToKernelBanToSlack() async throws {
        let pair = try NamespacePair()
        let receiver = WebhookEndpoint.slack(failFirst: 1)
        try await receiver.app().test(.live) { client in
            let (directory, log, settings) = try guardDirectory("daemon", "window: 4s, bans: [2s, 30m], baseline: { window: 60s, recalc: 2s }")
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let enforcer = NFTablesEnforcer(commands: FirewallCommands(namespace: pair.server))
            let notifier = WebhookNotifier(url: "http://127.0.0.1:\(client.port!)/services/T000/B000/XXXX", style: .slack, firstBackoff: .milliseconds(100))
            let daemon = try GuardDaemon(settings: settings, stateDirectory: directory, enforcer: enforcer,
                                         notifiers: [notifier], console: SilentConsole())
            let stop = Flag()
            let running = Task { try await daemon.run { stop.value } }
            defer { try? enforcer.uninstall() }
            // Normal traffic, live: ten clients at 1 req/s each (10 req/s in all) for 7 s, so the baseline
            // learns a full window. (10 req/s from one client would itself be a flood.)
            for tick in 0..<70 {
                try append(line(Date().timeIntervalSince1970, "192.0.2.\(tick % 10 + 1)"), to: log)
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(pair.reachable(pair.serverV4))
            // The client in the other namespace floods.
            var flood = ""
            for _ in 0..<400 { flood += line(Date().timeIntervalSince1970, pair.clientV4) }
            try append(flood, to: log)
            var banned = false
            for _ in 0..<100 where !banned {  // bounded: 5 s
                banned = (try? enforcer.active().contains(CIDR(pair.clientV4)!)) ?? false
                if !banned { try await Task.sleep(for: .milliseconds(50)) }
            }
            #expect(banned, "the flooding client is in the kernel set")
            #expect(!pair.reachable(pair.serverV4), "and its requests fail")
            var lifted = false
            for _ in 0..<80 where !lifted {  // the 2 s ban ends in the kernel and in the guard
                lifted = pair.reachable(pair.serverV4)
                if !lifted { try await Task.sleep(for: .milliseconds(100)) }
            }
            #expect(lifted, "the ban was lifted when due")
            var messages: [String] = []
            for _ in 0..<50 where !messages.joined().contains("UNBAN") {
                messages = receiver.delivered
                try await Task.sleep(for: .milliseconds(100))
            }
            stop.set()
            try await running.value
            let text = messages.joined(separator: "\n")
            #expect(text.contains("BAN \(pair.clientV4) for 2s (offence 1)"), "\(text)")
            #expect(text.contains("UNBAN \(pair.clientV4) after 2s"))
            #expect(text.contains("a next offence would mean a ban of 30m"))
            let audit = try String(contentsOfFile: GuardDaemon.auditPath(stateDirectory: directory), encoding: .utf8)
            #expect(audit.contains("] BAN ip=\(pair.clientV4) | condition="))
            #expect(audit.contains("] UNBAN ip=\(pair.clientV4) |"))
            let saved = try GuardStore(path: GuardStore.path(stateDirectory: directory)).load()
            #expect(saved.offences.first { $0.ip.description == pair.clientV4 }?.count == 1, "the offence count is kept for a restart")
            #expect(saved.position != nil)
            #expect(saved.learned?.baseline.first != nil, "the baseline is kept for a restart")
        }
    }

    /// A ban survives the daemon stopping and a new daemon starting, and ends on schedule.
    @Test func banSurvivesARestartAndExpiresOnSchedule() async throws {
        let pair = try NamespacePair()
        let (directory, _, settings) = try guardDirectory("restart")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let enforcer = NFTablesEnforcer(commands: FirewallCommands(namespace: pair.server))
        defer { try? enforcer.uninstall() }
        // The first daemon's stored state: a 4 s ban of the client, its first offence.
        let until = Int(Date().timeIntervalSince1970) + 4
        let client = IPAddress(pair.clientV4)!
        var stored = GuardStore.Checkpoint()
        stored.ban(.init(ip: client, since: until - 600, until: until, offence: 1, reason: "z=9.00"))
        stored.offence(.init(ip: client, count: 1, last: until - 600))
        try GuardStore(path: GuardStore.path(stateDirectory: directory)).save(stored)
        func daemon() throws -> GuardDaemon {
            try GuardDaemon(settings: settings, stateDirectory: directory, enforcer: enforcer, notifiers: [], console: SilentConsole())
        }
        try daemon().reconcile()
        #expect(!pair.reachable(pair.serverV4), "the stored ban is in the kernel after a start")
        // The daemon is gone (as after kill -9): the kernel keeps the ban by itself.
        #expect(try enforcer.active().contains(CIDR(pair.clientV4)!))
        // A new daemon takes over and lifts it when due.
        let stop = Flag()
        let second = try daemon()
        let running = Task { try await second.run { stop.value } }
        #expect(!pair.reachable(pair.serverV4))
        var back = false
        for _ in 0..<60 where !back {  // bounded: 6 s
            back = pair.reachable(pair.serverV4)
            if !back { try await Task.sleep(for: .milliseconds(100)) }
        }
        stop.set()
        try await running.value
        #expect(back, "the ban ended on schedule")
        #expect(Int(Date().timeIntervalSince1970) >= until)
        let after = try GuardStore(path: GuardStore.path(stateDirectory: directory)).load()
        #expect(after.bans.isEmpty)
        #expect(after.offences.first?.count == 1, "the offence count survives, so the next ban is the second step")
        let audit = try String(contentsOfFile: GuardDaemon.auditPath(stateDirectory: directory), encoding: .utf8)
        #expect(audit.contains("UNBAN ip=\(pair.clientV4)"))
    }

    /// The running daemon with each back end: a ban handed to it (the way `guard bans add` does)
    /// blocks the client in the kernel, IPv4 and IPv6; the unban lets it back in.
    @Test(arguments: KernelFirewall.backEnds)
    func daemonBansAndUnbansWithEachBackEnd(backEnd: String) async throws {
        let pair = try NamespacePair()
        let (directory, _, settings) = try guardDirectory("backend")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let enforcer = KernelFirewall().enforcer(backEnd, in: pair.server)
        defer { try? enforcer.uninstall() }
        let daemon = try GuardDaemon(settings: settings, stateDirectory: directory, enforcer: enforcer, notifiers: [],
                                     console: SilentConsole())
        let stop = Flag()
        let running = Task { try await daemon.run { stop.value } }
        func waitUntil(_ reachable: Bool, _ server: String) async throws -> Bool {
            for _ in 0..<10 {  // bounded: about 10 s
                if pair.reachable(server) == reachable { return true }
                try await Task.sleep(for: .milliseconds(100))
            }
            return false
        }
        for (client, server) in [(pair.clientV4, pair.serverV4), (pair.clientV6, pair.serverV6)] {
            #expect(pair.reachable(server))
            let address = IPAddress(client)!
            try daemon.store.enqueue(.init(action: .ban, target: BanTarget(client: address), seconds: 600))
            #expect(try await waitUntil(false, server), "\(backEnd): \(client) banned by the daemon")
            let grouped = address.isV4 ? address : address.masked(to: 64)
            #expect(try daemon.store.bans().contains { $0.ip == grouped && $0.reason == "manual" })
            try daemon.store.enqueue(.init(action: .unban, target: BanTarget(client: address)))
            #expect(try await waitUntil(true, server), "\(backEnd): \(client) unbanned by the daemon")
        }
        stop.set()
        try await running.value
        #expect(try daemon.store.bans().isEmpty)
    }

    @Test func slowWebhookNeverDelaysBanning() async throws {
        let receiver = WebhookEndpoint.slack(delay: .seconds(3))
        try await receiver.app().test(.live) { client in
            let notifier = WebhookNotifier(url: "http://127.0.0.1:\(client.port!)/services/T000/B000/XXXX", style: .slack, timeout: .seconds(10))
            let decision = GuardDecision(at: 1_800_000_000, action: .ban, ip: IPAddress("203.0.113.9"), duration: 600, condition: "z=9.00", rate: 30, baseline: 0.5, offence: 1)
            let started = ContinuousClock.now
            for _ in 0..<100 { notifier.notify(decision) }
            #expect(ContinuousClock.now - started < .milliseconds(50), "notify only queues")
            var delivered = 0
            for _ in 0..<100 where delivered == 0 {
                delivered = notifier.report.delivered
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(receiver.delivered.count <= 2, "a burst is coalesced, not 100 posts")
            #expect(receiver.delivered.first?.contains("BAN 203.0.113.9 for 10m (offence 1): z=9.00") == true)
        }
    }
}

/// A fresh directory with an empty access log, and the guard settings of a manifest that follows it
/// (`more`: further keys of the guard section, in flow style).
func guardDirectory(_ label: String, _ more: String = "") throws -> (directory: String, log: String, settings: GuardSettings) {
    let directory = TestSupport.temporaryDirectory(label)
    let log = "\(directory)/access.log"
    FileManager.default.createFile(atPath: log, contents: nil)
    let manifest = try ManifestLoader.parse(yaml: "name: \(label)\nservices:\n  app: { command: [x], port: 3000 }\nguard: { log: \(log)\(more.isEmpty ? "" : ", " + more) }\n",
                                            file: "swiftdeploy.yaml", directory: directory)
    return (directory, log, manifest.guardSettings)
}

func line(_ time: Double, _ address: String) -> String {
    #"{"msec":\#(String(format: "%.3f", time)),"remote_addr":"\#(address)","xff":"","status":200}"# + "\n"
}

func append(_ text: String, to path: String) throws {
    let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
    try handle.seekToEnd()
    try handle.write(contentsOf: Data(text.utf8))
    try handle.close()
}

final class Flag: @unchecked Sendable {
    private let lock = NSLock()
    private var flag = false
    func set() { lock.withLock { flag = true } }
    var value: Bool { lock.withLock { flag } }
}

struct SilentConsole: Console {
    func say(_ line: String, terminator: String) {}
    func warn(_ line: String) {}
}
