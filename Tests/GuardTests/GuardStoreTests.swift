import Foundation
import Detection
import GuardStorage
import Telemetry
import Testing
import Vocabulary

#if canImport(Glibc)
import Glibc
#endif

@Suite struct GuardStoreTests {
    func temporaryStore(_ label: String) throws -> (GuardStore, String) {
        let directory = NSTemporaryDirectory() + "swiftdeploy-store-\(label)-\(UUID().uuidString)"
        return (try GuardStore(path: GuardStore.path(stateDirectory: directory)), directory)
    }

    /// Twenty minutes of traffic and one ban, saved in checkpoints every few seconds the way the
    /// daemon saves; a new engine restored from the file is the same engine: same bans and
    /// offences, same baseline (warm at once), and it keeps judging the same way.
    @Test func restartResumesBansOffencesAndTheBaseline() throws {
        let (store, directory) = try temporaryStore("resume")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var traffic = Scenario()
        traffic.crowd(20, rate: 1, from: Scenario.t0, seconds: 1200)
        traffic.steady("198.51.100.7", rate: 40, from: Scenario.t0 + 900, seconds: 30)
        var engine = GuardEngine(config: GuardConfig())
        var savedThrough: Int?
        var decisions: [GuardDecision] = []
        // Feed in 7-second slices, saving after each: the incremental path the daemon takes.
        let ordered = traffic.events.sorted { ($0.timestamp, $0.client) < ($1.timestamp, $1.client) }
        var checkpoint = GuardStore.Checkpoint()
        for slice in stride(from: 0, to: ordered.count, by: 140) {
            for event in ordered[slice..<min(slice + 140, ordered.count)] { engine.ingest(event) }
            for decision in engine.drain() {
                decisions.append(decision)
                if decision.action == .ban, let target = decision.target {
                    checkpoint.ban(engine.banBook.active[target]!)
                    checkpoint.offence(engine.banBook.offence(target)!)
                }
                if decision.action == .baselineRecalc { checkpoint.recalcs.append(.init(at: decision.at, summary: engine.baseline.current!)) }
            }
            let learned = engine.learned(secondsAfter: savedThrough)
            checkpoint.learn(learned)
            checkpoint.position = LogTail.Position(device: 7, inode: 42, offset: UInt64(slice))
            try store.save(checkpoint)
            checkpoint = GuardStore.Checkpoint()
            savedThrough = learned.baseline.newest - 1
        }
        let attacker = IPAddress("198.51.100.7")!
        #expect(decisions.contains { $0.action == .ban && $0.ip == attacker })

        let saved = try GuardStore(path: store.path).load()
        var restored = GuardEngine(config: GuardConfig())
        restored.restore(bans: saved.bans, offences: saved.offences, learned: saved.learned)
        #expect(restored.banBook.active == engine.banBook.active)
        #expect(restored.banBook.offence(BanTarget(client: attacker)) == engine.banBook.offence(BanTarget(client: attacker)))
        #expect(restored.learned().baseline == engine.learned().baseline, "the same ring, pending second and hourly slots")
        #expect(restored.isWarm, "no relearning from zero")
        #expect(abs(restored.baseline.current!.mean - 20) < 0.5, "mean of 20 clients at 1 req/s: \(restored.baseline.current!.mean)")
        #expect(saved.position == LogTail.Position(device: 7, inode: 42, offset: UInt64(Array(stride(from: 0, to: ordered.count, by: 140)).last!)))
        #expect(try store.recalcs(since: 0).count == decisions.filter { $0.action == .baselineRecalc }.count)
        #expect(try store.history(since: 0).map(\.requests).reduce(0, +) > 0)

        // The same next minute of traffic gives the same decisions to both.
        var next = Scenario()
        next.crowd(20, rate: 1, from: Scenario.t0 + 1200, seconds: 60)
        next.steady("203.0.113.50", rate: 30, from: Scenario.t0 + 1220, seconds: 20)
        let live = next.feed(&engine).filter { $0.action != .baselineRecalc }
        let afterRestart = next.feed(&restored).filter { $0.action != .baselineRecalc }
        #expect(live == afterRestart)
        #expect(live.contains { $0.action == .ban && $0.ip == IPAddress("203.0.113.50") })
    }

    /// A checkpoint that could not be written (a full disk) is merged into the next one: the
    /// seconds of both are kept, so nothing is lost once writing works again.
    @Test func unsavedCheckpointsMergeWithoutLosingSeconds() {
        func learned(_ seconds: ClosedRange<Int>, requests: Int) -> GuardEngine.Learned {
            GuardEngine.Learned(baseline: Baseline.Snapshot(first: 0, newest: seconds.upperBound + 1, pendingCount: 0, pendingErrors: 0,
                                                            seconds: seconds.map { Baseline.Second(second: $0, requests: requests, errors: 0) },
                                                            hours: []), typicalClientRate: 1, clientRateSpread: 0)
        }
        var checkpoint = GuardStore.Checkpoint()
        checkpoint.learn(learned(10...12, requests: 1))
        checkpoint.learn(learned(12...14, requests: 2))  // 12 again: a late line added to it
        #expect(checkpoint.learned?.baseline.seconds.map(\.second) == [10, 11, 12, 13, 14])
        #expect(checkpoint.learned?.baseline.seconds.map(\.requests) == [1, 1, 2, 2, 2], "the newer count of a second wins")
        #expect(checkpoint.learned?.baseline.newest == 15)
        let ip = IPAddress("192.0.2.1")!
        checkpoint.ban(BanBook.Ban(ip: ip, since: 1, until: 601, offence: 1, reason: "z=4"))
        checkpoint.lift(BanTarget(client: ip))
        #expect(checkpoint.bans.isEmpty && checkpoint.lifted == [BanTarget(client: ip)], "the last word on an address wins")
    }

    /// A line stamped a second the baseline has already closed still counts, in that second and its hour.
    @Test func lateLinesCountInTheirOwnSecond() {
        var baseline = Baseline(window: 60, minPoints: 10, meanFloor: 0.1)
        let t = Scenario.t0
        baseline.add(at: t, error: false)
        baseline.add(at: t + 1, error: false)
        baseline.close(upTo: t + 3)
        baseline.add(at: t + 1, error: true)  // late
        baseline.add(at: t - 120, error: false)  // older than the window: ignored
        let snapshot = baseline.snapshot()
        #expect(snapshot.seconds.map(\.requests) == [1, 2, 0])
        #expect(snapshot.seconds.map(\.errors) == [0, 1, 0])
        let hour = baseline.hourly[(t / 3600) % 24]
        #expect(hour.requests == 3 && hour.errors == 1 && hour.squares == 1 + 4)
    }

    /// The dashboard's top clients: the busiest first, ties by address, only as many as asked,
    /// and a client whose window has emptied drops out.
    @Test func topClientsAreTheBusiestInOrder() {
        var traffic = Scenario()
        for (index, rate) in [1.0, 4, 2, 4, 3, 0.5].enumerated() { traffic.steady("192.0.2.\(index + 1)", rate: rate, from: Scenario.t0, seconds: 60) }
        traffic.steady("198.51.100.1", rate: 9, from: Scenario.t0 - 300, seconds: 10)  // long gone
        var quiet = GuardConfig()
        (quiet.zScore, quiet.multiplier) = (1000, 1000)  // nobody is banned: this is about ranking
        var engine = GuardEngine(config: quiet)
        _ = traffic.feed(&engine)
        #expect(engine.topClients(3).map(\.ip) == ["192.0.2.2", "192.0.2.4", "192.0.2.5"])
        #expect(engine.topClients(3).map(\.rps) == [4, 4, 3])
        #expect(engine.topClients(10).count == 6)
    }

    @Test func requestsAreTakenOnceInOrder() throws {
        let (store, directory) = try temporaryStore("requests")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (v4, range) = (BanTarget("192.0.2.9")!, BanTarget("2001:db8::/32")!)
        try store.enqueue(.init(action: .ban, target: v4, seconds: 60, reason: "seen scanning /wp-admin"))
        try store.enqueue(.init(action: .unban, target: range))
        #expect(try store.takeRequests() == [.init(action: .ban, target: v4, seconds: 60, reason: "seen scanning /wp-admin"),
                                             .init(action: .unban, target: range)])
        #expect(try store.takeRequests().isEmpty)
    }

    /// The folder around the guard's own: another user who can write it could rename the guard's
    /// folder away and leave a link, and root would write its audit log wherever that leads.
    @Test func theGuardsFolderMustSitWhereOnlyItsUserWrites() throws {
        let directory = NSTemporaryDirectory() + "swiftdeploy-store-parent-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try PrivateDirectory.prepare("\(directory)/guard")
        chmod(directory, 0o777)
        #expect { try PrivateDirectory.prepare("\(directory)/guard") } throws: { "\($0)".contains("which others may write (mode 777)") }
        chmod(directory, 0o1777)
        try PrivateDirectory.prepare("\(directory)/guard")  // sticky: others cannot rename the guard's folder
        chmod(directory, 0o755)
        if geteuid() == 0 {
            chown(directory, 65534, 65534)
            #expect { try PrivateDirectory.prepare("\(directory)/guard") } throws: { "\($0)".contains("belongs to uid 65534") }
        }
    }

    @Test func aFileThatIsNotAStoreSaysWhatToDo() throws {
        let directory = NSTemporaryDirectory() + "swiftdeploy-store-garbage-\(UUID().uuidString)"
        try PrivateDirectory.prepare(GuardStore.directory(stateDirectory: directory))
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = GuardStore.path(stateDirectory: directory)
        try Data(repeating: 0x41, count: 8192).write(to: URL(fileURLWithPath: path))
        #expect {
            _ = try GuardStore(path: path)
        } throws: { error in
            let text = "\(error)"
            return text.contains(path) && text.contains("not a guard store: move it aside")
        }
    }

    /// A real full file system (a 1 MB tmpfs, mounted by the test): saving fails with a message
    /// that names the file and says the disk is full; after space is freed the same checkpoint saves.
    @Test(.enabled(if: getuid() == 0, "needs root to mount a small tmpfs: run scripts/test as root (CI does)"))
    func fullDiskIsNamedAndNothingIsLost() throws {
        let directory = NSTemporaryDirectory() + "swiftdeploy-store-full-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        #expect(mount("tmpfs", directory, "tmpfs", 0, "size=1m") == 0, "mount tmpfs: errno \(errno)")
        defer { umount(directory); try? FileManager.default.removeItem(atPath: directory) }
        let store = try GuardStore(path: GuardStore.path(stateDirectory: directory))
        let filler = "\(directory)/filler"
        // Fill every free block.
        let fd = open(filler, O_WRONLY | O_CREAT, 0o600)
        let chunk = [UInt8](repeating: 1, count: 4096)
        while write(fd, chunk, chunk.count) > 0 {}
        close(fd)
        var checkpoint = GuardStore.Checkpoint()
        for index in 0..<5000 {
            let ip = IPAddress("10.\(index / 65536).\(index / 256 % 256).\(index % 256)")!
            checkpoint.ban(BanBook.Ban(ip: ip, since: 1, until: nil, offence: 4, reason: "z=9.99 a reason long enough to need pages"))
        }
        #expect {
            try store.save(checkpoint)
        } throws: { error in
            "\(error)".contains(store.path) && "\(error)".contains("the disk is full: free space")
        }
        try FileManager.default.removeItem(atPath: filler)
        try store.save(checkpoint)
        #expect(try store.bans().count == 5000)
    }
}
