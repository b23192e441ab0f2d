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

@Suite(.serialized) struct ProgressiveAndCompose {
    @Test(arguments: RuntimeKind.allCases)
    func steppedPromotionRollsBackOnTheFirstDeny(runtime: RuntimeKind) async throws {
        let project = try LifecycleProject("e2e-steps", runtime: runtime)
        defer { _ = try? TestSupport.run("swiftdeploy", ["teardown"], in: project.directory); project.remove() }
        #expect(try await project.run("deploy").status == 0)
        #expect(try await project.run("canary", "start", "--weight", "10").status == 0)
        #expect(try await project.run("chaos", "error", "--rate", "0.5").status == 0)
        let result = try await project.runUnderLoad("promote", "--steps", "50,100", "--interval", "1s").result
        #expect(result.status == 1)
        #expect(result.stdout.contains("promote: step 1/2: canary takes 50%"))
        #expect(!result.stdout.contains("step 2/2"))
        #expect(result.stderr.contains("promote: rolling back at 50%"))
        #expect(result.stderr.contains("canary_safety denies: error_rate"))
        // Everything is back on stable, and the canary is gone.
        let after = try await project.traffic(30)
        #expect(after.versions == ["1.0.0": 30])
        let history = try String(contentsOfFile: "\(project.directory)/.swiftdeploy/history.jsonl", encoding: .utf8)
        #expect(history.contains("\"event\":\"promote_step\""))
        #expect(history.contains("\"reason\":\"canary_safety denied at 50% (1 failed check)\""))
    }

    /// One change at a time: while a stepped promotion runs (it holds the project's lock for its
    /// whole analysis), a rollback is refused naming it; with --wait the rollback queues, runs after
    /// it, and history holds the promotion and then the rollback, never interleaved.
    @Test func aChangeWhileAnotherRunsIsRefusedOrQueued() async throws {
        let project = try LifecycleProject("e2e-lock")
        defer { _ = try? TestSupport.run("swiftdeploy", ["teardown"], in: project.directory); project.remove() }
        #expect(try await project.run("deploy").status == 0)
        #expect(try await project.run("canary", "start", "--weight", "10").status == 0)
        let load = SteadyLoad(url: project.url, workers: 1, maxRequests: 20_000)
        let running = Task { await load.run() }
        let promotion = Task { try await project.run("promote", "--steps", "50,100", "--interval", "3s") }
        let state = "\(project.directory)/.swiftdeploy"
        var holder: ProjectLock.Holder?
        // Bounded: 10 s for the promotion to take the lock and write its record beside it.
        for _ in 0..<200 where holder?.command != "promote" {
            if case .held(let held) = try ProjectLock.state(stateDirectory: state) { holder = held }
            if holder?.command != "promote" { try await Task.sleep(for: .milliseconds(50)) }
        }
        #expect(holder?.command == "promote")
        let refused = try await project.run("rollback")
        #expect(refused.status == 3, "exit 3: the lock is held")
        #expect(refused.stderr.contains("another command is changing this stack: pid \(holder?.pid ?? 0)") && refused.stderr.contains("`swiftdeploy promote`"),
                "\(refused.stderr)")
        let status = try await project.run("lock", "status")
        #expect(status.status == 1 && status.stdout.contains("lock: held by pid \(holder?.pid ?? 0)"), "\(status.stdout)")
        let queued = try await project.run("rollback", "--wait")
        let promoted = try await promotion.value
        load.stop()
        _ = await running.value
        #expect(promoted.status == 0, "\(promoted.stdout)\(promoted.stderr)")
        #expect(queued.status == 0 && queued.stdout.contains("lock: waiting for pid \(holder?.pid ?? 0)"), "\(queued.stdout)\(queued.stderr)")
        let events = try String(contentsOfFile: "\(state)/history.jsonl", encoding: .utf8).split(separator: "\n")
            .compactMap { try? JSONDecoder().decode([String: JSONValue].self, from: Data($0.utf8))["event"]?.string }
        let changes = events.filter { ["promote_step", "promote", "rollback"].contains($0) }
        #expect(changes == ["promote_step", "promote_step", "promote", "rollback"], "\(events)")
        #expect(try await project.run("lock", "status").stdout.hasPrefix("lock: free"))
    }

    /// Kamal's `rollback VERSION`: every release that became stable is kept; `rollback --to` makes an
    /// earlier one stable again through the host policy and the zero-downtime move, under load.
    @Test func rollbackToAnEarlierReleaseUnderLoad() async throws {
        let project = try LifecycleProject("e2e-releases", canarySafety: LifecycleProject.lenientAnalysis)
        defer { _ = try? TestSupport.run("swiftdeploy", ["teardown"], in: project.directory); project.remove() }
        #expect(try await project.run("deploy").status == 0)
        #expect(try await project.run("canary", "start").status == 0)
        _ = try await project.traffic(40)  // the canary's analysis needs its minimum of requests
        let promoted = try await project.run("promote")
        #expect(promoted.status == 0, "\(promoted.stdout)\(promoted.stderr)")
        #expect(try await project.traffic(10).versions == ["2.0.0": 10])
        let listed = try await project.run("releases", "--json")
        let releases = try JSONDecoder().decode([[String: JSONValue]].self, from: Data(listed.stdout.utf8))
        #expect(releases.map { $0["version"]?.string } == ["1.0.0", "2.0.0"] && releases.map { $0["via"]?.string } == ["deploy", "promote"], "\(listed.stdout)")
        #expect(releases.first?["runs"]?.string?.hasPrefix("swiftdeploy-demo --port") == true, "the command that ran (runtime local)")
        #expect(releases.last?["current"] == .bool(true) && releases.first?["current"] == .bool(false))

        let unknown = try await project.run("rollback", "--to", "9.9.9")
        #expect(unknown.status == 1 && unknown.stderr.contains("no release 9.9.9 is kept; kept: 1.0.0, 2.0.0"), "\(unknown.stderr)")

        let (back, outcome) = try await project.runUnderLoad("rollback", "--to", "1.0.0")
        #expect(back.status == 0, "\(back.stdout)\(back.stderr)")
        #expect(back.stdout.contains("PASS infrastructure"), "the same gate as a deploy: \(back.stdout)")
        #expect(outcome.failed == 0 && outcome.sent > 0, "\(outcome.failed) of \(outcome.sent) requests failed during the rollback: \(outcome.firstFailure ?? "")")
        #expect(try await project.traffic(10).versions == ["1.0.0": 10])
        let table = try await project.run("releases")
        #expect(table.stdout.split(separator: "\n").last?.contains("1.0.0") == true && table.stdout.contains("rollback --to")
                && table.stdout.split(separator: "\n").last?.contains("stable now") == true, "\(table.stdout)")
        let mode = try FileManager.default.attributesOfItem(atPath: "\(project.directory)/.swiftdeploy/releases.json")[.posixPermissions] as? Int
        #expect(mode == 0o600, "the releases keep their environment: owner only")
    }

    /// `env_file` secrets reach the instance's environment and nothing the tool writes or prints:
    /// not its output, status, history, stack state, releases or the generated files.
    @Test func envFileSecretsReachTheAppAndNothingElse() async throws {
        let secret = "s3cr3t-\(UUID().uuidString.prefix(12))"
        let project = try LifecycleProject("e2e-secrets")
        defer { _ = try? TestSupport.run("swiftdeploy", ["teardown"], in: project.directory); project.remove() }
        let envFile = "\(project.directory)/app.env"
        try "API_TOKEN=\(secret)\n".write(toFile: envFile, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: envFile)
        let manifest = "\(project.directory)/swiftdeploy.yaml"
        let text = try String(contentsOfFile: manifest, encoding: .utf8)
        try text.replacingOccurrences(of: "    version: 1.0.0\n", with: "    version: 1.0.0\n    env_file: app.env\n")
            .write(toFile: manifest, atomically: true, encoding: .utf8)
        var said = ""
        for arguments in [["deploy"], ["canary", "start"], ["status", "--once", "--json"], ["status", "--once"], ["releases", "--json"], ["audit"]] {
            let result = try await project.run(arguments)
            #expect(result.status == 0, "\(arguments): \(result.stdout)\(result.stderr)")
            said += result.stdout + result.stderr
        }
        let state = try JSONDecoder.sorted.decode(StackState.self, from: Data(contentsOf: URL(fileURLWithPath: "\(project.directory)/.swiftdeploy/stack.json")))
        for track in [Track.stable, .canary] {
            guard case .process(let pid, _) = try #require(state.tracks[track]).instance else { Issue.record("not a process"); continue }
            let environ = try Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/environ")).split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            #expect(environ.contains("API_TOKEN=\(secret)"), "the \(track) instance has the secret")
        }
        #expect(!said.contains(secret), "no command printed it")
        let written = try FileManager.default.subpathsOfDirectory(atPath: project.directory).filter { !$0.hasPrefix(".swiftdeploy/logs") && $0 != "app.env" }
        for file in written {
            let contents = (try? String(contentsOfFile: "\(project.directory)/\(file)", encoding: .utf8)) ?? ""
            #expect(!contents.contains(secret), "\(file) holds the secret")
        }
        // Made readable by others, the file is refused before anything starts, naming the fix.
        try FileManager.default.setAttributes([.posixPermissions: 0o640], ofItemAtPath: envFile)
        let refused = try await project.run("deploy")
        #expect(refused.status == 1 && refused.stderr.contains("chmod 600") && !refused.stderr.contains(secret), "\(refused.stderr)")
        // Put right again, so the teardown that ends the test loads the manifest and stops the stack.
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: envFile)
    }

    /// Hooks around the lifecycle, with the release in their environment: a failing pre_promote is
    /// a manual gate (nothing changes, its output says why), post hooks and on_rollback follow.
    @Test func hooksRunAroundTheLifecycleAndAFailingPreHookStopsTheChange() async throws {
        let log = "hooks.log"
        let line = "echo $SWIFTDEPLOY_EVENT $SWIFTDEPLOY_VERSION after=$SWIFTDEPLOY_PREVIOUS_VERSION $SWIFTDEPLOY_PROJECT >> \(log)"
        let project = try LifecycleProject("e2e-hooks", canarySafety: LifecycleProject.lenientAnalysis, extra: """
            hooks:
              pre_deploy: "\(line)"
              post_deploy: "\(line)"
              pre_promote: { run: "test -f approved || { echo 'waiting for a person: touch approved'; exit 3; }", timeout: 5s }
              post_promote: "\(line)"
              on_rollback: "\(line)"
            """)
        defer { _ = try? TestSupport.run("swiftdeploy", ["teardown"], in: project.directory); project.remove() }
        let lines = { ((try? String(contentsOfFile: "\(project.directory)/\(log)", encoding: .utf8)) ?? "").split(separator: "\n").map(String.init) }
        #expect(try await project.run("deploy").status == 0)
        #expect(lines() == ["pre_deploy 1.0.0 after= \(project.name)", "post_deploy 1.0.0 after= \(project.name)"])
        #expect(try await project.run("canary", "start").status == 0)
        _ = try await project.traffic(40)
        let gated = try await project.run("promote")
        #expect(gated.status == 1)
        #expect(gated.stderr.contains("hook pre_promote failed (exit 3)") && gated.stderr.contains("waiting for a person: touch approved")
                && gated.stderr.contains("nothing was changed"), "\(gated.stderr)")
        #expect(try await project.traffic(40).versions.count == 2, "both tracks still serve")
        FileManager.default.createFile(atPath: "\(project.directory)/approved", contents: nil)
        let promoted = try await project.run("promote")
        #expect(promoted.status == 0, "\(promoted.stdout)\(promoted.stderr)")
        #expect(try await project.run("rollback", "--to", "1.0.0").status == 0)
        #expect(lines().suffix(4) == ["post_promote 2.0.0 after=1.0.0 \(project.name)", "pre_deploy 1.0.0 after=2.0.0 \(project.name)",
                                      "post_deploy 1.0.0 after=2.0.0 \(project.name)", "on_rollback 1.0.0 after=2.0.0 \(project.name)"], "\(lines())")
        let history = try String(contentsOfFile: "\(project.directory)/.swiftdeploy/history.jsonl", encoding: .utf8)
        #expect(history.contains("\"hook\":\"pre_promote\"") && history.contains("\"outcome\":\"exit 3\""))
    }

    /// The lifecycle tells the guard's webhooks what happens: a Slack stand-in on loopback (its
    /// first post fails, and is retried) hears the deploy, the canary, the block and the rollback,
    /// each once, before each command exits.
    @Test func lifecycleEventsReachTheGuardsSlackWebhook() async throws {
        let receiver = WebhookEndpoint.slack(failFirst: 1)
        try await receiver.app().test(.live) { client in
            let project = try LifecycleProject("e2e-notices", extra: """
                guard: { slack_webhook: "http://127.0.0.1:\(client.port!)/services/T000/B000/XXXX" }
                """)
            defer { _ = try? TestSupport.run("swiftdeploy", ["teardown"], in: project.directory); project.remove() }
            #expect(try await project.run("deploy").status == 0)
            #expect(try await project.run("canary", "start").status == 0)
            #expect(try await project.run("chaos", "error", "--rate", "1").status == 0, "rate 1 is a valid rate")
            _ = try await project.traffic(40)
            #expect(try await project.run("promote").status == 1)
            #expect(try await project.run("rollback").status == 0)
            let texts = receiver.delivered.compactMap { try? JSONDecoder().decode([String: String].self, from: Data($0.utf8))["text"] }
            let lines = texts.flatMap { $0.split(separator: "\n").map(String.init) }
            #expect(lines.filter { $0.contains("1.0.0 is stable") }.count == 1, "\(lines)")
            #expect(lines.filter { $0.contains("canary 2.0.0 started with 50% of traffic") }.count == 1, "\(lines)")
            #expect(lines.filter { $0.contains("canary_safety blocks: error_rate 100% exceeds maximum 5%") }.count == 1, "\(lines)")
            #expect(lines.filter { $0.contains("rolled back (requested)") }.count == 1, "\(lines)")
        }
    }

    @Test func composeRuntimeWithoutDockerEngineSaysSo() throws {
        let directory = TestSupport.temporaryDirectory("e2e-compose")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try """
            name: composed
            runtime: compose
            services:
              app: { image: swiftdeploy-demo:1.0.0, port: \(TestSupport.freePort()) }
            nginx: { port: \(TestSupport.freePort()) }
            policy: { infrastructure: { max_cpu_load: 1000, min_disk_free_gb: 0.01, max_mem_used_pct: 100 } }
            """.write(toFile: "\(directory)/swiftdeploy.yaml", atomically: true, encoding: .utf8)
        let result = try TestSupport.run("swiftdeploy", ["deploy"], in: directory, environment: ["DOCKER_HOST": "unix://\(directory)/no-engine.sock"])
        #expect(result.status == 1)
        #expect(result.stderr.contains("runtime compose needs"), "\(result.stderr)")
        #expect(result.stderr.contains("runtime: local"))
        #expect(FileManager.default.fileExists(atPath: "\(directory)/docker-compose.yml"))
    }
}
