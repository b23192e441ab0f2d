import Deploy
import Foundation
import GuardStorage
import Runtime
import Telemetry
import TestSupport
import Testing
import Spawn
import Vocabulary

/// The real `swiftdeploy guard run` process, dry-run enforcer (no root needed): crash safety and signals.
@Suite(.serialized) struct GuardProcess {
    /// A running guard daemon in a directory of its own, with its manifest and access log.
    struct Daemon {
        let directory = TestSupport.temporaryDirectory("guardproc")
        var log: String { "\(directory)/access.log" }
        var manifest: String { "\(directory)/swiftdeploy.yaml" }
        var output: String { "\(directory)/guard.out" }
        var store: GuardStore { get throws { try GuardStore(path: GuardStore.path(stateDirectory: "\(directory)/.swiftdeploy")) } }

        init(guardSection: String) throws {
            FileManager.default.createFile(atPath: log, contents: nil)
            try write(manifest: guardSection)
        }

        func write(manifest guardSection: String) throws {
            try "name: proc\nservices:\n  app: { command: [x], port: 3000 }\nguard:\n\(guardSection)".write(toFile: manifest, atomically: true, encoding: .utf8)
        }

        /// Starts the daemon and waits (bounded) until it follows the log; returns its pid.
        func start(environment: [String: String] = [:]) async throws -> pid_t {
            let before = (try? String(contentsOfFile: output, encoding: .utf8))?.count ?? 0
            let pid = try ChildProcess.spawn([TestSupport.product("swiftdeploy"), "guard", "run", "-f", manifest], environment: environment,
                                             logFile: output)
            try await waitFor("guard: following", after: before)
            return pid
        }

        var text: String { (try? String(contentsOfFile: output, encoding: .utf8)) ?? "" }

        /// Waits up to 10 s for `needle` to appear in the daemon's output after character `after`.
        func waitFor(_ needle: String, after: Int = 0) async throws {
            for _ in 0..<200 {
                if String(text.dropFirst(after)).contains(needle) { return }
                try await Task.sleep(for: .milliseconds(50))
            }
            Issue.record("the daemon never said \"\(needle)\"; it said:\n\(text)")
        }

        /// `count` lines, one per client in turn, stamped now.
        func traffic(_ count: Int, clients: Int = 10) throws {
            var text = ""
            for index in 0..<count { text += line(Date().timeIntervalSince1970, "192.0.2.\(index % clients + 1)") }
            try append(text, to: log)
        }
    }

    /// kill -9 at a moment when some lines are read but not yet saved, more lines written while it
    /// is dead, then a new daemon: every line is counted exactly once, the ban and the offence count
    /// are there, and the baseline resumes instead of relearning.
    @Test func killMinus9LosesNoBanNoOffenceAndReadsEveryLineOnce() async throws {
        let daemon = try Daemon(guardSection: """
              log: access.log
              enforcer: dry-run
              thresholds: { z_score: 10, multiplier: 20 }
              window: 4s
              bans: [1h]
              baseline: { window: 60s, recalc: 1s }
            """)
        defer { try? FileManager.default.removeItem(atPath: daemon.directory) }
        var written = 0
        let first = try await daemon.start()
        // Ten clients at 10 req/s each for 6 s: a warm baseline.
        for _ in 0..<60 {
            try daemon.traffic(10); written += 10
            try await Task.sleep(for: .milliseconds(100))
        }
        var flood = ""
        for _ in 0..<600 { flood += line(Date().timeIntervalSince1970, "198.51.100.7") }
        try append(flood, to: daemon.log); written += 600
        try await daemon.waitFor("BAN ip=198.51.100.7")
        #expect(daemon.text.contains("notice swiftdeploy.guard: action=ban"), "decisions are structured log records: \(daemon.text)")
        #expect(daemon.text.contains("duration_s=3600 ip=198.51.100.7 offence=1"))
        let attacker = IPAddress("198.51.100.7")!
        #expect(try daemon.store.bans().map(\.ip) == [attacker], "saved before it was acted on")
        let learnedBefore = try daemon.store.load().learned
        try daemon.traffic(200); written += 200
        try await Task.sleep(for: .milliseconds(1200))
        try daemon.traffic(100); written += 100
        try await Task.sleep(for: .milliseconds(30))  // read, most likely not yet saved
        kill(first, SIGKILL)
        while ChildProcess.isAlive(first) { try await Task.sleep(for: .milliseconds(10)) }
        try daemon.traffic(150); written += 150  // while no daemon runs

        let mark = daemon.text.count
        let second = try await daemon.start()
        #expect(String(daemon.text.dropFirst(mark)).contains("1 bans in force"))
        #expect(String(daemon.text.dropFirst(mark)).contains("baseline resumed: mean"))
        try daemon.traffic(100); written += 100
        try await Task.sleep(for: .milliseconds(1200))
        await ChildProcess.stop(second)
        #expect(daemon.text.contains("guard: stopped; 1 bans stay in the kernel"))

        let saved = try daemon.store.load()
        #expect(saved.lines == written, "every line counted exactly once: \(saved.lines) of \(written)")
        #expect(saved.badLines == 0)
        #expect(saved.bans.map(\.ip) == [attacker])
        #expect(saved.offences.first { $0.ip == attacker }?.count == 1)
        #expect(saved.learned?.baseline.first == learnedBefore?.baseline.first, "the same baseline, continued")
        #expect(saved.position?.offset == UInt64((try FileManager.default.attributesOfItem(atPath: daemon.log)[.size] as! NSNumber).intValue))
        #expect(saved.daemonPid == nil, "a clean stop clears the pid")
    }

    /// SIGHUP applies a changed allow list at once (a flood from it is then not banned), names the
    /// settings that need a restart, and a broken manifest is refused with its file and line while
    /// the daemon keeps running on what it had.
    @Test func sighupReloadsAndABrokenManifestIsRefused() async throws {
        let daemon = try Daemon(guardSection: """
              log: access.log
              enforcer: dry-run
              thresholds: { z_score: 10, multiplier: 20 }
              window: 4s
              baseline: { window: 60s, recalc: 1s }
            """)
        defer { try? FileManager.default.removeItem(atPath: daemon.directory) }
        let pid = try await daemon.start()
        for _ in 0..<60 {
            try daemon.traffic(10)
            try await Task.sleep(for: .milliseconds(100))
        }
        try daemon.write(manifest: """
              log: access.log
              enforcer: dry-run
              thresholds: { z_score: 10, multiplier: 20 }
              window: 5s
              allow: [198.51.100.0/24]
              baseline: { window: 60s, recalc: 1s }
            """)
        kill(pid, SIGHUP)
        try await daemon.waitFor("guard: configuration reloaded; needs a restart to change: guard.window")
        var flood = ""
        for _ in 0..<600 { flood += line(Date().timeIntervalSince1970, "198.51.100.7") }
        for _ in 0..<600 { flood += line(Date().timeIntervalSince1970, "203.0.113.66") }
        try append(flood, to: daemon.log)
        try await daemon.waitFor("BAN ip=203.0.113.66")
        #expect(!daemon.text.contains("BAN ip=198.51.100.7"), "the reloaded allow list protects it")

        try "name: proc\nservices:\n  app: { command: [x], port: 3000 }\nguard:\n  thresholds: { z_score: lots }\n"
            .write(toFile: daemon.manifest, atomically: true, encoding: .utf8)
        kill(pid, SIGHUP)
        try await daemon.waitFor("guard: reload refused, the running configuration stays")
        #expect(daemon.text.contains("swiftdeploy.yaml:5"), "names the line: \(daemon.text)")
        #expect(ChildProcess.isAlive(pid))
        kill(pid, SIGTERM)
        try await daemon.waitFor("guard: stopped")
        for _ in 0..<100 where ChildProcess.isAlive(pid) { try await Task.sleep(for: .milliseconds(20)) }
        #expect(!ChildProcess.isAlive(pid), "SIGTERM ends it")
    }

    /// Under systemd (`Type=notify`): READY once it follows the log, the watchdog's heartbeat from
    /// its loop, RELOADING then READY around a SIGHUP, STOPPING on SIGTERM, on the socket in
    /// NOTIFY_SOCKET (here one the test listens on).
    @Test func tellsSystemdReadyAliveReloadingAndStopping() async throws {
        let daemon = try Daemon(guardSection: "  log: access.log\n  enforcer: dry-run\n")
        defer { try? FileManager.default.removeItem(atPath: daemon.directory) }
        let systemd = try DatagramListener()
        let pid = try await daemon.start(environment: ["NOTIFY_SOCKET": systemd.path, "WATCHDOG_USEC": "2000000"])
        let ready = systemd.messages(until: "READY=1", within: .seconds(5))
        #expect(ready.last?.hasPrefix("READY=1\nSTATUS=following \(daemon.log)") == true, "\(ready)")
        let beats = systemd.messages(until: "WATCHDOG=1", within: .seconds(3))
        #expect(beats.last == "WATCHDOG=1", "a heartbeat within the watchdog's half interval: \(beats)")
        kill(pid, SIGHUP)
        let reload = systemd.messages(until: "READY=1", within: .seconds(5))
        let reloading = reload.firstIndex { $0.hasPrefix("RELOADING=1\nMONOTONIC_USEC=") }
        #expect(reloading != nil && reload.last?.hasPrefix("READY=1") == true, "RELOADING, then READY: \(reload)")
        kill(pid, SIGTERM)
        let stop = systemd.messages(until: "STOPPING=1", within: .seconds(5))
        #expect(stop.last == "STOPPING=1", "\(stop)")
        for _ in 0..<100 where ChildProcess.isAlive(pid) { try await Task.sleep(for: .milliseconds(20)) }
        #expect(!ChildProcess.isAlive(pid))
    }

    /// SIGTERM and SIGINT (the service group's graceful shutdown) end the daemon at once, not at its
    /// next tick: the wait for the log is interrupted, the last step reads what is left, and the store
    /// marks it stopped.
    /// A second daemon on the same store is refused, naming the first; once the first is gone
    /// (even by kill -9, which leaves its pid recorded), a new one starts.
    @Test func aSecondDaemonOnTheSameStoreIsRefused() async throws {
        let daemon = try Daemon(guardSection: "  log: access.log\n  enforcer: dry-run\n")
        defer { try? FileManager.default.removeItem(atPath: daemon.directory) }
        let first = try await daemon.start()
        let second = try TestSupport.run("swiftdeploy", ["guard", "run", "-f", daemon.manifest, "--no-dashboard"])
        #expect(second.status == 1)
        #expect(second.stderr.contains("a guard daemon already runs on") && second.stderr.contains("(pid \(first))"), "\(second.stderr)")
        #expect(ChildProcess.isAlive(first))
        kill(first, SIGKILL)
        for _ in 0..<1000 where ChildProcess.isAlive(first) { try await Task.sleep(for: .milliseconds(5)) }
        #expect(try daemon.store.load().daemonPid == first)
        let next = try await daemon.start()
        kill(next, SIGTERM)
        for _ in 0..<1000 where ChildProcess.isAlive(next) { try await Task.sleep(for: .milliseconds(5)) }
        #expect(!ChildProcess.isAlive(next))
    }

    @Test func sigtermAndSigintStopAtOnce() async throws {
        for signal in [SIGTERM, SIGINT] {
            let daemon = try Daemon(guardSection: "  log: access.log\n  enforcer: dry-run\n")
            defer { try? FileManager.default.removeItem(atPath: daemon.directory) }
            let pid = try await daemon.start()
            try daemon.traffic(5)
            try await Task.sleep(for: .milliseconds(300))
            let sent = ContinuousClock.now
            kill(pid, signal)
            while ChildProcess.isAlive(pid) && ContinuousClock.now - sent < .seconds(5) { try await Task.sleep(for: .milliseconds(5)) }
            #expect(ContinuousClock.now - sent < .milliseconds(700), "signal \(signal) took \(ContinuousClock.now - sent)")
            #expect(daemon.text.contains("guard: stopped; 0 bans stay in the kernel until they expire"))
            let saved = try daemon.store.load()
            #expect(saved.lines == 5)
            #expect(saved.daemonPid == nil)
        }
    }
}
