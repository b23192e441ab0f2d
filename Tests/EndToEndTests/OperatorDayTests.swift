import Foundation
import Runtime
import Spawn
import TestSupport
import Testing

/// What an operator does on an ordinary day, through the real binary: pipes, mistyped commands,
/// a taken port, an app that dies at start, a broken house rule, the logs (issue 29).
@Suite(.serialized) struct OperatorDay {
    /// `status --json --interval` into a file gets whole JSON lines as they are made, not 4 KiB blocks.
    @Test func aPipedStatusGetsOneWholeJSONLinePerRefresh() async throws {
        let project = try LifecycleProject("e2e-pipe", canarySafety: LifecycleProject.lenientAnalysis)
        defer { _ = try? TestSupport.run("swiftdeploy", ["teardown"], in: project.directory); project.remove() }
        #expect(try await project.run("deploy").status == 0)
        let output = "\(project.directory)/status.out"
        let pid = try ChildProcess.spawn([TestSupport.product("swiftdeploy"), "-f", "\(project.directory)/swiftdeploy.yaml", "status", "--json", "--interval", "500ms"],
                                         logFile: output)
        var lines: [Substring] = []
        for _ in 0..<100 where lines.count < 2 {  // bounded: 10 s for two refreshes
            try await Task.sleep(for: .milliseconds(100))
            lines = ((try? String(contentsOfFile: output, encoding: .utf8)) ?? "").split(separator: "\n")
        }
        await ChildProcess.stop(pid, grace: .seconds(2))
        #expect(lines.count >= 2, "each refresh reaches the file while the command runs")
        for line in lines { #expect((try? JSONSerialization.jsonObject(with: Data(line.utf8))) != nil, "a whole JSON object: \(line.prefix(80))") }
    }

    @Test func namesThatMeanWhatTheySay() async throws {
        let project = try LifecycleProject("e2e-names", canarySafety: LifecycleProject.lenientAnalysis)
        defer { _ = try? TestSupport.run("swiftdeploy", ["teardown"], in: project.directory); project.remove() }
        let typo = try await project.run("promot")
        #expect(typo.status == 64 && typo.stderr.contains("Did you mean `swiftdeploy promote`?"), "\(typo.stderr)")
        let stable = try await project.run("promote", "stable")
        #expect(stable.status == 64 && stable.stderr.contains("swiftdeploy rollback"), "\(stable.stderr)")
        #expect(try await project.run("deploy").status == 0)
        #expect(try await project.run("canary", "start", "--weight", "10").status == 0)
        #expect(try await project.run("promote", "--force").status == 0)
        let rollback = try await project.run("rollback")
        #expect(rollback.status == 0 && rollback.stdout.contains("`swiftdeploy rollback --to 1.0.0`"), "\(rollback.stdout)")
        let history = try String(contentsOfFile: "\(project.directory)/.swiftdeploy/history.jsonl", encoding: .utf8)
        #expect(history.contains("\"user\":"), "who ran each command is on record")
    }

    @Test func aTakenPortIsNamedAndNeverSwapped() async throws {
        let project = try LifecycleProject("e2e-port")
        defer { _ = try? TestSupport.run("swiftdeploy", ["teardown"], in: project.directory); project.remove() }
        let holder = TestSupport.listenOnLoopback(port: project.appPort)
        defer { close(holder.fd) }
        let validate = try await project.run("validate")
        #expect(validate.status != 0 && validate.stdout.contains("stable ports \(project.appPort) and") && validate.stdout.contains("is taken by"),
                "\(validate.stdout)")
        let deploy = try await project.run("deploy")
        #expect(deploy.status == 1 && deploy.stderr.contains("port \(project.appPort) for the stable track is taken by"), "\(deploy.stderr)")
        #expect(!TestSupport.isListening(TrackSpec.slots(project.appPort)[1]), "the other slot was not used instead")
    }

    /// An app that dies at start: one sentence with how it ended, this start's lines only, exit 4, on record.
    @Test func aStartThatDiesSaysHowAndWhere() async throws {
        let project = try LifecycleProject("e2e-dies")
        defer { _ = try? TestSupport.run("swiftdeploy", ["teardown"], in: project.directory); project.remove() }
        let manifest = "\(project.directory)/swiftdeploy.yaml"
        try String(contentsOfFile: manifest, encoding: .utf8)
            .replacingOccurrences(of: #"command: [swiftdeploy-demo, --port, "{port}"]"#, with: #"command: [sh, -c, "echo dying-now; exit 3"]"#)
            .write(toFile: manifest, atomically: true, encoding: .utf8)
        for attempt in 1...2 {
            let result = try await project.run("deploy")
            #expect(result.status == 4, "exit 4: unhealthy (\(result.status))")
            #expect(result.stdout.contains("stable starting 1.0.0; waiting up to"), "says what it waits for: \(result.stdout)")
            #expect(result.stderr.contains("the stable track (1.0.0) did not become healthy: the process exited with status 3 before /healthz answered."),
                    "\(result.stderr)")
            #expect(result.stderr.components(separatedBy: "dying-now").count - 1 == 1, "attempt \(attempt) quotes its own start only: \(result.stderr)")
        }
        let history = try String(contentsOfFile: "\(project.directory)/.swiftdeploy/history.jsonl", encoding: .utf8)
        #expect(history.contains("\"event\":\"failure\"") && history.contains("\"command\":\"deploy\""), "the failure is on record")
        let logs = try await project.run("logs", "stable", "-n", "3")
        #expect(logs.status == 0 && logs.stdout.contains("dying-now"), "\(logs.stdout)\(logs.stderr)")
        #expect(try await project.run("logs", "everything").status == 64)
    }

    /// A house rule that does not compile: `validate` says so (not the first deploy), and
    /// `policy check --json` keeps its standard output JSON.
    @Test func aBrokenHouseRuleIsFoundByValidate() async throws {
        let project = try LifecycleProject("e2e-rules", policy: "dir: rules\n  infrastructure: { max_cpu_load: 1000, min_disk_free_gb: 0.01, max_mem_used_pct: 100 }")
        defer { project.remove() }
        let missing = try await project.run("validate")
        #expect(missing.status != 0 && missing.stdout.contains("rules does not exist"), "a named policy.dir must be there: \(missing.stdout)")
        try FileManager.default.createDirectory(atPath: "\(project.directory)/rules", withIntermediateDirectories: true)
        try "package swiftdeploy.infrastructure\n\ndecision := {\"allow\": true, \"violations\": [] \n".write(toFile: "\(project.directory)/rules/broken.rego",
                                                                                                       atomically: true, encoding: .utf8)
        let validate = try await project.run("validate")
        #expect(validate.status != 0 && validate.stdout.contains("FAIL  infrastructure policy answers"), "\(validate.stdout)")
        let check = try await project.run("policy", "check", "--json")
        #expect(check.status == 2, "no answer: \(check.status)")
        #expect((try? JSONSerialization.jsonObject(with: Data(check.stdout.utf8))) != nil, "stdout is the JSON answer alone: \(check.stdout)")
        #expect(!check.stderr.contains("--force") && !check.stdout.contains("--force"))
    }
}
