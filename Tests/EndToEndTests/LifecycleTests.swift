import HummingbirdTesting
import Hummingbird
import AsyncHTTPClient
import Deploy
import Foundation
import Manifest
import Runtime
import NIOCore
import TestSupport
import Testing
import Vocabulary

/// The same lifecycle assertions on both runtimes.
@Suite(.serialized) struct Lifecycle {
    @Test(arguments: RuntimeKind.allCases)
    func canaryGateBlocksAFaultyCanaryAndPromotesAHealthyOne(runtime: RuntimeKind) async throws {
        let project = try LifecycleProject("e2e-canary", runtime: runtime)
        defer { _ = try? TestSupport.run("swiftdeploy", ["teardown"], in: project.directory); project.remove() }
        #expect(try await project.run("deploy").status == 0)
        let start = try await project.run("canary", "start")
        #expect(start.status == 0, "\(start.stdout)\(start.stderr)")
        let before = try await project.traffic(60)
        #expect(before.failures == 0)
        #expect(before.versions["1.0.0", default: 0] > 5 && before.versions["2.0.0", default: 0] > 5, "\(before.versions)")

        // nginx's JSON log, on this host where the guard reads it, names each client by its own
        // address (with compose too: no Docker proxy in between).
        let log = try String(contentsOfFile: "\(project.directory)/.swiftdeploy/nginx/logs/access.log", encoding: .utf8)
        let last = try #require(log.split(separator: "\n").last)
        let line = try #require(try JSONSerialization.jsonObject(with: Data(last.utf8)) as? [String: Any])
        #expect(line["remote_addr"] as? String == "127.0.0.1", "\(last)")
        #expect(["stable", "canary"].contains(line["upstream"] as? String ?? ""))

        #expect(try await project.run("chaos", "error", "--rate", "0.2").status == 0)
        // Traffic keeps flowing while the gate is asked, as on a live site: the 3 s analysis window
        // always holds fresh requests, however slowly the machine runs each command.
        let load = SteadyLoad(url: project.url, workers: 2, maxRequests: 50_000)
        let running = Task { await load.run() }
        for _ in 0..<200 where load.sent < 300 { try await Task.sleep(for: .milliseconds(50)) }  // bounded: 10 s
        let check = try await project.run("policy", "check", "--policy", "canary_safety")
        #expect(check.status == 1, "the same gate on the live canary, asked directly: \(check.stdout)\(check.stderr)")
        #expect(check.stdout.contains("BLOCK canary_safety"), "\(check.stdout)")
        let blocked = try await project.run("promote")
        #expect(blocked.status == 1)
        #expect(blocked.stderr.contains("canary_safety denies: error_rate"), "\(blocked.stderr)")
        #expect(blocked.stderr.contains("exceeds maximum 5%"))
        // Nothing changed: both tracks still serve.
        #expect(try await project.traffic(40).versions.count == 2)

        #expect(try await project.run("chaos", "recover").status == 0)
        try await Task.sleep(for: .seconds(3.2))  // the 3 s analysis window forgets the faulty requests
        let promoted = try await project.run("promote")
        load.stop()
        _ = await running.value
        #expect(promoted.status == 0, "\(promoted.stdout)\(promoted.stderr)")
        let after = try await project.traffic(50)
        #expect(after.failures == 0)
        #expect(after.versions == ["2.0.0": 50])

        let status = try await project.run("status", "--once", "--json")
        let snapshot = try #require(try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any])
        let tracks = try #require(snapshot["tracks"] as? [[String: Any]])
        #expect(tracks.map { $0["track"] as? String } == ["stable"])
        #expect(tracks.first?["version"] as? String == "2.0.0")
        if runtime == .compose {
            #expect(tracks.first?["image"] as? String == DockerTestEngine.demoImages[1])
            #expect(tracks.first?["docker_health"] as? String == "healthy")
            #expect(tracks.first?["restarts"] as? Int == 0)
        }
        // The manifest still declares 1.0.0: diff says what runs differs.
        let diff = try await project.run("diff")
        #expect(diff.status == 1)
        #expect(diff.stdout.contains("running: stable version is 2.0.0, swiftdeploy.yaml says 1.0.0"), "\(diff.stdout)")

        #expect(try await project.run("audit", "--out", "report.md").status == 0)
        let report = try String(contentsOfFile: "\(project.directory)/report.md", encoding: .utf8)
        #expect(report.contains("| canary_safety | max_error_rate |"))
        #expect(report.contains("| promote | "))

        let instances = try project.instances()
        #expect(instances.count == 2)
        #expect(try await project.run("teardown").status == 0)
        let pids = instances.compactMap { instance -> Int32? in if case .process(let pid, _) = instance { pid } else { nil } }
        #expect(pids.allSatisfy { !isRunning($0) }, "teardown left \(pids.filter(isRunning))")
        #expect(project.leftovers().isEmpty, "teardown left \(project.leftovers())")
    }

    @Test(arguments: RuntimeKind.allCases)
    func diskLimitAboveFreeDiskBlocksDeployAndStartsNothing(runtime: RuntimeKind) async throws {
        let project = try LifecycleProject("e2e-disk", runtime: runtime, policy: "infrastructure: { max_cpu_load: 1000, min_disk_free_gb: 1000000, max_mem_used_pct: 100 }")
        defer { project.remove() }
        let result = try await project.run("deploy")
        #expect(result.status == 1, "exit 1: denied")
        #expect(result.stderr.contains("infrastructure denies: disk_free_gb"))
        #expect(result.stderr.contains("is below minimum 1000000"))
        #expect(try project.instances().isEmpty)
        #expect(project.leftovers().isEmpty, "\(project.leftovers())")
        let history = try String(contentsOfFile: "\(project.directory)/.swiftdeploy/history.jsonl", encoding: .utf8)
        #expect(history.contains("\"event\":\"policy\""))
        #expect(!history.contains("\"event\":\"deploy\""))
    }

    @Test(arguments: RuntimeKind.allCases)
    func deadPolicyEngineBlocksDeploy(runtime: RuntimeKind) async throws {
        let project = try LifecycleProject("e2e-noengine", runtime: runtime)
        defer { project.remove() }
        let result = try await project.run("deploy", environment: ["SWIFTDEPLOY_REGO_LIBRARY": "/nonexistent/librego_shared.so"])
        #expect(result.status == 2, "exit 2: the engine could not answer")
        #expect(result.stderr.contains("infrastructure: the policy engine could not answer (") && result.stderr.contains("so the answer is no"))
        #expect(result.stderr.contains("cannot load rego-cpp from /nonexistent/librego_shared.so"))
        #expect(project.leftovers().isEmpty, "\(project.leftovers())")
    }

    @Test(arguments: RuntimeKind.allCases)
    func redeployAndPromoteUnderSteadyLoadFailNoRequest(runtime: RuntimeKind) async throws {
        let project = try LifecycleProject("e2e-zero", runtime: runtime)
        defer { _ = try? TestSupport.run("swiftdeploy", ["teardown"], in: project.directory); project.remove() }
        #expect(try await project.run("deploy").status == 0)
        #expect(try await project.run("canary", "start").status == 0)
        let load = SteadyLoad(url: project.url, workers: 4, maxRequests: 40_000)
        let running = Task { await load.run() }
        try await Task.sleep(for: .milliseconds(300))
        let redeploy = try await project.run("deploy")
        #expect(redeploy.status == 0, "\(redeploy.stderr)")
        #expect(redeploy.stdout.contains("replaced 1.0.0"))
        // On a loaded machine the 3 s analysis window can hold too few requests ("inconclusive"):
        // an operator tries again, and so does this test, a bounded number of times.
        var promote = try await project.run("promote")
        for _ in 0..<5 where promote.status != 0 && (promote.stdout + promote.stderr).contains("inconclusive") {
            try await Task.sleep(for: .seconds(1))
            promote = try await project.run("promote")
        }
        #expect(promote.status == 0, "\(promote.stdout)\(promote.stderr)")
        for _ in 0..<100 where load.sent <= 200 { try await Task.sleep(for: .milliseconds(100)) }  // bounded: 10 s
        load.stop()
        let outcome = await running.value
        #expect(outcome.sent > 200, "too little load to mean anything: \(outcome.sent)")
        #expect(outcome.failed == 0, "\(outcome.failed) of \(outcome.sent) requests failed: \(outcome.firstFailure ?? "")")
        print("zero-downtime (\(runtime)): \(outcome.sent) requests across a redeploy and a promote, \(outcome.failed) failed")
    }
}

/// A crashed app is started again by its supervisor (and the restart is in history and the audit);
/// a track whose process is gone is shown down (`status` exits 4) and is drift.
@Suite(.serialized) struct Supervision {
    @Test func aKilledAppComesBackAndADeadTrackIsShownDown() async throws {
        let project = try LifecycleProject("e2e-supervise", canarySafety: LifecycleProject.lenientAnalysis)
        defer { _ = try? TestSupport.run("swiftdeploy", ["teardown"], in: project.directory); project.remove() }
        #expect(try await project.run("deploy").status == 0)
        let logs = "\(project.directory)/.swiftdeploy/logs"
        let statusFile = "\(logs)/" + (try #require(try FileManager.default.contentsOfDirectory(atPath: logs).first { $0.hasSuffix(".status") }))
        let app = try #require(Supervisor.Status.read(statusFile)?.pid)
        kill(app, SIGKILL)
        var back = false
        for _ in 0..<200 where !back {  // bounded: 10 s for the restart (its pause is 1 s)
            back = Supervisor.Status.read(statusFile).map { $0.state == .up && $0.restarts == 1 } ?? false
            if !back { try await Task.sleep(for: .milliseconds(50)) }
        }
        #expect(back, "the supervisor started it again")
        // The restart is history: in history.jsonl with its track, signal and attempt, and in the audit's timeline.
        let restart = History(stateDirectory: "\(project.directory)/.swiftdeploy").events().events.last { $0.event == .restart }
        #expect(restart?.details["track"] == .string("stable") && restart?.details["signal"] == .number(9) && restart?.details["attempt"] == .number(1),
                "\(String(describing: restart))")
        let audit = try await project.run("audit", "--out", "audit.md")
        let report = (try? String(contentsOfFile: "\(project.directory)/audit.md", encoding: .utf8)) ?? ""
        #expect(audit.status == 0 && report.contains("| restart |") && report.contains("signal=9"), "\(audit.stderr)\(report)")
        var served = false
        for _ in 0..<100 where !served {
            served = (try? await project.traffic(1).failures) == 0
            if !served { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(served, "nginx reaches it again")
        let up = try await project.run("status", "--once")
        #expect(up.status == 0 && up.stdout.contains("up (1 restart, last was killed by signal 9)"), "\(up.stdout)\(up.stderr)")

        // Supervisor and app both gone: the track is down, status says so and exits 4, diff calls it drift.
        guard case .process(let supervisorPid, _)? = try StackState.load(from: "\(project.directory)/.swiftdeploy").tracks[.stable]?.instance else {
            Issue.record("no stable process on record")
            return
        }
        kill(supervisorPid, SIGKILL)
        if let again = Supervisor.Status.read(statusFile)?.pid { kill(again, SIGKILL) }
        try await Task.sleep(for: .milliseconds(300))
        let down = try await project.run("status", "--once")
        #expect(down.status == 4 && down.stdout.contains("DOWN"), "\(down.status) \(down.stdout)\(down.stderr)")
        let drift = try await project.run("diff")
        #expect(drift.status != 0 && drift.stdout.contains("is not running"), "\(drift.stdout)")
    }

    /// A supervisor's give-up is a `failure` of `supervise` in history, with its track, exits and last ending.
    @Test func aGiveUpIsAFailureInHistory() throws {
        let folder = TestSupport.temporaryDirectory("supervise-gave-up")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let history = History(stateDirectory: folder)
        try history.record(Supervisor.Notice.gaveUp(track: .canary, ending: Supervisor.Ending("exited with status 3"), exits: 6, window: .seconds(60)))
        let event = try #require(history.events().events.first)
        #expect(event.event == .failure && event.details["command"] == .string("supervise") && event.details["track"] == .string("canary"), "\(event)")
        #expect(event.details["exits"] == .number(6) && event.details["exit_code"] == .number(3) && event.details["signal"] == nil, "\(event)")
        #expect(event.details["error"] == .string("the canary track's app ended 6 times in 1m, last exited with status 3; gave up (the track is failed)"))
    }
}
