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

/// A project in a temporary directory with free ports, driven through the real `swiftdeploy`
/// binary on either runtime: real nginx, real rego-cpp, and real `swiftdeploy-demo` processes
/// (local) or containers of the demo image on a real Docker engine (compose).
struct LifecycleProject {
    let name: String
    let runtime: RuntimeKind
    let directory: String
    let nginxPort: Int
    let appPort: Int
    let canaryPort: Int

    init(_ label: String, runtime: RuntimeKind = .local,
         policy: String = "infrastructure: { max_cpu_load: 1000, min_disk_free_gb: 0.01, max_mem_used_pct: 100 }",
         canarySafety: String = "{ max_error_rate: 5%, max_p99_latency_ms: 2000, min_requests: 20, window: 3s }",
         extra: String = "", nginx: String = "") throws {
        if runtime == .compose { try DockerTestEngine.prepare() }
        name = "\(label)-\(runtime.rawValue)"
        self.runtime = runtime
        directory = TestSupport.temporaryDirectory(name)
        nginxPort = TestSupport.freePort()
        appPort = TestSupport.freePort()
        canaryPort = TestSupport.freePort()
        let images = DockerTestEngine.demoImages
        try """
            name: \(name)
            runtime: \(runtime.rawValue)
            services:
              app:
                command: [swiftdeploy-demo, --port, "{port}"]
                image: \(images[0])
                port: \(appPort)
                version: 1.0.0
                canary: { version: 2.0.0, image: \(images[1]), port: \(canaryPort), weight: 50 }
            nginx: { port: \(nginxPort)\(nginx) }
            policy:
              \(policy)
              canary_safety: \(canarySafety)
            \(extra)
            """.write(toFile: "\(directory)/swiftdeploy.yaml", atomically: true, encoding: .utf8)
    }

    var url: String { "http://127.0.0.1:\(nginxPort)/" }

    /// For tests about something other than the analysis: a long window with a low minimum, so a
    /// loaded machine serving a few requests a second still gives a promote enough to judge.
    static let lenientAnalysis = "{ max_error_rate: 5%, max_p99_latency_ms: 2000, min_requests: 5, window: 60s }"

    @discardableResult
    func run(_ arguments: String..., environment: [String: String] = [:]) async throws -> TestSupport.CommandResult {
        try await run(arguments, environment: environment)
    }

    func run(_ arguments: [String], environment: [String: String] = [:]) async throws -> TestSupport.CommandResult {
        try await TestSupport.runDetached("swiftdeploy", arguments, in: directory, environment: environment)
    }

    /// Runs a command while two clients keep sending requests through nginx, as on a live site;
    /// returns its result and what the traffic met meanwhile.
    func runUnderLoad(_ arguments: String..., maxRequests: Int = 20_000) async throws -> (result: TestSupport.CommandResult, traffic: SteadyLoad.Outcome) {
        let load = SteadyLoad(url: url, workers: 2, maxRequests: maxRequests)
        let running = Task { await load.run() }
        let result = try await run(arguments)
        load.stop()
        return (result, await running.value)
    }

    /// Sends `count` requests through nginx one after another; returns (failures, versions seen).
    func traffic(_ count: Int) async throws -> (failures: Int, versions: [String: Int]) {
        var failures = 0
        var versions: [String: Int] = [:]
        for _ in 0..<count {
            let response = try await TestSupport.get(url)
            if response.status != 200 { failures += 1; continue }
            if let body = try JSONSerialization.jsonObject(with: Data(response.body.utf8)) as? [String: Any], let version = body["version"] as? String {
                versions[version, default: 0] += 1
            }
        }
        return (failures, versions)
    }

    /// Everything the stack runs, from its state file.
    func instances() throws -> [Instance] {
        let state = try StackState.load(from: "\(directory)/.swiftdeploy")
        return state.tracks.values.map(\.instance) + [state.nginx].compactMap { $0 }
    }

    /// What of the stack still runs or exists: processes, the project's containers and network, nginx's port.
    func leftovers() -> [String] {
        var left: [String] = []
        if runtime == .compose {
            left += DockerTestEngine.containers(project: name).map { "container \($0)" }
            if DockerTestEngine.hasNetwork("\(name)-net") { left.append("network \(name)-net") }
        }
        if TestSupport.isListening(nginxPort) { left.append("nginx port \(nginxPort)") }
        if TestSupport.isListening(appPort) { left.append("app port \(appPort)") }
        return left
    }

    func remove() { try? FileManager.default.removeItem(atPath: directory) }
}

func isRunning(_ pid: Int32) -> Bool {
    guard kill(pid, 0) == 0, let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return false }
    return !stat.contains(") Z ")
}

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
        #expect(blocked.stderr.contains("exceeds maximum 0.05"))
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
        #expect(result.status == 1)
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
        #expect(result.status == 1)
        #expect(result.stderr.contains("infrastructure: the policy engine could not answer, so the answer is no"))
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

/// Keeps a few clients sending requests until told to stop (or until `maxRequests`), counting failures.
final class SteadyLoad: @unchecked Sendable {
    struct Outcome: Sendable {
        var sent = 0
        var failed = 0
        var firstFailure: String?
    }

    let url: String
    let workers: Int
    let maxRequests: Int
    private let lock = NSLock()
    private var stopped = false
    private var outcome = Outcome()

    init(url: String, workers: Int, maxRequests: Int) {
        self.url = url
        self.workers = workers
        self.maxRequests = maxRequests
    }

    func stop() { lock.withLock { stopped = true } }

    var sent: Int { lock.withLock { outcome.sent } }

    private func next() -> Bool {
        lock.withLock {
            guard !stopped, outcome.sent < maxRequests else { return false }
            outcome.sent += 1
            return true
        }
    }

    private func fail(_ reason: String) {
        lock.withLock {
            outcome.failed += 1
            if outcome.firstFailure == nil { outcome.firstFailure = reason }
        }
    }

    func run() async -> Outcome {
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<workers {
                group.addTask {
                    while self.next() {
                        do {
                            // A new connection per request: nginx closes idle keep-alive connections when it
                            // reloads, and a request racing that close needs a client retry (as browsers do);
                            // here every failure counts.
                            let response = try await TestSupport.get(self.url, headers: ["Connection": "close"])
                            if response.status != 200 { self.fail("HTTP \(response.status): \(response.body)") }
                        } catch {
                            self.fail("\(error)")
                        }
                    }
                }
            }
        }
        return lock.withLock { outcome }
    }
}

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
        #expect(refused.status == 1)
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

    /// A step without enough requests is neither passed nor failed: it says so and waits for
    /// traffic (here it comes once the wait is on record), and past the deadline it counts as failed.
    @Test func aQuietStepIsInconclusiveAndWaitsForTrafficUpToTheDeadline() async throws {
        let project = try LifecycleProject("e2e-quiet",
                                           canarySafety: "{ max_error_rate: 5%, max_p99_latency_ms: 2000, min_requests: 20, window: 3s, deadline: 30s }")
        defer { _ = try? TestSupport.run("swiftdeploy", ["teardown"], in: project.directory); project.remove() }
        #expect(try await project.run("deploy").status == 0)
        #expect(try await project.run("canary", "start", "--weight", "50").status == 0)
        let promotion = Task { try await project.run("promote", "--steps", "50,100", "--interval", "1s") }
        let history = "\(project.directory)/.swiftdeploy/history.jsonl"
        var waiting = false
        for _ in 0..<200 where !waiting {  // bounded: 10 s for the first step to find too little traffic
            waiting = ((try? String(contentsOfFile: history, encoding: .utf8)) ?? "").contains("\"inconclusive\":true")
            if !waiting { try await Task.sleep(for: .milliseconds(50)) }
        }
        #expect(waiting, "the quiet step is on record as inconclusive")
        let load = SteadyLoad(url: project.url, workers: 2, maxRequests: 20_000)
        let running = Task { await load.run() }
        let promoted = try await promotion.value
        load.stop()
        _ = await running.value
        #expect(promoted.status == 0, "\(promoted.stdout)\(promoted.stderr)")
        #expect(promoted.stdout.contains("promote: step 1/2 at 50%: inconclusive, 0 of 20 requests in the last 3s; waiting for traffic"), "\(promoted.stdout)")
        #expect(try await project.traffic(10).versions == ["2.0.0": 10])

        // With a 2 s deadline and no traffic at all, the step fails when the deadline passes, and rolls back.
        let manifest = "\(project.directory)/swiftdeploy.yaml"
        try String(contentsOfFile: manifest, encoding: .utf8).replacingOccurrences(of: "deadline: 30s", with: "deadline: 2s")
            .write(toFile: manifest, atomically: true, encoding: .utf8)
        try await Task.sleep(for: .seconds(3.2))  // the 3 s window forgets the earlier load
        #expect(try await project.run("canary", "start", "--weight", "50").status == 0)
        let started = ContinuousClock.now
        let starved = try await project.run("promote", "--steps", "50", "--interval", "1s")
        #expect(starved.status == 1 && starved.stderr.contains("promote: rolling back at 50%") && starved.stderr.contains("requests"), "\(starved.stderr)")
        #expect(ContinuousClock.now - started < .seconds(15), "the deadline ends the wait")
    }

    /// The lifecycle tells the guard's webhooks what happens: a Slack stand-in on loopback (its
    /// first post fails, and is retried) hears the deploy, the canary, the block and the rollback,
    /// each once, before each command exits.
    @Test func lifecycleEventsReachTheGuardsSlackWebhook() async throws {
        let receiver = WebhookReceiver(failFirst: 1)
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
            let texts = receiver.received.compactMap { try? JSONDecoder().decode([String: String].self, from: Data($0.utf8))["text"] }
            let lines = texts.flatMap { $0.split(separator: "\n").map(String.init) }
            #expect(lines.filter { $0.contains("1.0.0 is stable") }.count == 1, "\(lines)")
            #expect(lines.filter { $0.contains("canary 2.0.0 started with 50% of traffic") }.count == 1, "\(lines)")
            #expect(lines.filter { $0.contains("canary_safety blocks: error_rate 1 exceeds maximum 0.05") }.count == 1, "\(lines)")
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
