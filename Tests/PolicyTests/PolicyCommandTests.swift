import Foundation
import TestSupport
import Testing

/// `swiftdeploy policy check|test` as a user runs them: real binary, real rego-cpp, exit codes.
@Suite struct PolicyCommand {
    static func project(_ extraManifest: String = "") throws -> String {
        let directory = TestSupport.temporaryDirectory("policy-cli")
        try """
            name: cli
            services:
              app: { command: [swiftdeploy-demo], port: 3000 }
            policy:
              infrastructure: { max_cpu_load: 64, min_disk_free_gb: 0.01, max_mem_used_pct: 100 }
            \(extraManifest)
            """.write(toFile: "\(directory)/swiftdeploy.yaml", atomically: true, encoding: .utf8)
        try #"{"error_rate": 0.01, "p99_latency_ms": 80, "requests": 100, "window_s": 30}"#.write(toFile: "\(directory)/good.json", atomically: true, encoding: .utf8)
        try #"{"error_rate": 0.2, "p99_latency_ms": 450, "requests": 100, "window_s": 30}"#.write(toFile: "\(directory)/bad.json", atomically: true, encoding: .utf8)
        return directory
    }

    @Test func exitCodesAllowDenyNoAnswer() throws {
        let directory = try Self.project()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let allow = try TestSupport.run("swiftdeploy", ["policy", "check", "--policy", "canary_safety", "--input", "good.json"], in: directory)
        #expect(allow.status == 0, "\(allow.stdout)\(allow.stderr)")
        #expect(allow.stdout.contains("PASS canary_safety (embedded"))

        let deny = try TestSupport.run("swiftdeploy", ["policy", "check", "--policy", "canary_safety", "--input", "bad.json"], in: directory)
        #expect(deny.status == 1)
        #expect(deny.stdout.contains("BLOCK canary_safety: error_rate 20% exceeds maximum 5%"))
        #expect(deny.stdout.contains("max_error_rate  0.2       0.05   error_rate 20% exceeds maximum 5%"))

        let json = try TestSupport.run("swiftdeploy", ["policy", "check", "--policy", "canary_safety", "--input", "bad.json", "--json"], in: directory)
        #expect(json.status == 1)
        let decision = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        #expect(decision["allow"] as? Bool == false)
        #expect((decision["violations"] as? [[String: Any]])?.first?["rule"] as? String == "max_error_rate")

        let noEngine = try TestSupport.run("swiftdeploy", ["policy", "check", "--policy", "canary_safety", "--input", "good.json"],
                                           in: directory, environment: ["SWIFTDEPLOY_REGO_LIBRARY": "/nonexistent/librego_shared.so"])
        #expect(noEngine.status == 2)
        #expect(noEngine.stdout.contains("BLOCK canary_safety: the policy engine could not answer, so the answer is no"))
        #expect(noEngine.stdout.contains("cannot load rego-cpp from /nonexistent/librego_shared.so"))

        let live = try TestSupport.run("swiftdeploy", ["policy", "check"], in: directory)
        #expect(live.status == 0, "\(live.stdout)")
        #expect(live.stdout.contains("\"cpu_load\":"))

        let unknown = try TestSupport.run("swiftdeploy", ["policy", "check", "--policy", "speed"], in: directory)
        #expect(unknown.status == 64)
        #expect(unknown.stderr.contains("--policy must be one of infrastructure, canary_safety"))
    }

    @Test func opaEngineDownIsExitTwo() throws {
        let port = TestSupport.freePort()
        let directory = try Self.project("  engine: opa\n  opa_url: http://127.0.0.1:\(port)\n  timeout: 1s")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let result = try TestSupport.run("swiftdeploy", ["policy", "check", "--policy", "canary_safety", "--input", "good.json"], in: directory)
        #expect(result.status == 2)
        #expect(result.stdout.contains("OPA at http://127.0.0.1:\(port) is unreachable"))
    }

    @Test func policyTestRunsShippedTestsAfterInit() throws {
        let directory = try Self.project()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        #expect(try TestSupport.run("swiftdeploy", ["init"], in: directory).status == 0)
        let passing = try TestSupport.run("swiftdeploy", ["policy", "test"], in: directory)
        #expect(passing.status == 0)
        #expect(passing.stdout.contains("PASS embedded canary_safety_test.rego: test_too_little_traffic_is_inconclusive"))
        #expect(passing.stdout.hasSuffix("36 passed, 0 failed\n"))
        try "package mine_test\nimport rego.v1\ntest_broken if 1 == 2\n".write(toFile: "\(directory)/policies/mine_test.rego", atomically: true, encoding: .utf8)
        let failing = try TestSupport.run("swiftdeploy", ["policy", "test"], in: directory)
        #expect(failing.status == 1)
        #expect(failing.stdout.contains("FAIL embedded mine_test.rego: test_broken (undefined)"))
        #expect(failing.stdout.hasSuffix("36 passed, 1 failed\n"))
    }

    /// rego-cpp's memory is handed back: LeakSanitizer (preloaded) watches a process that makes decisions
    /// and runs every policy test, and must find nothing.
    @Test func policyPathLeaksNothingUnderLeakSanitizer() throws {
        let lsan = "/usr/lib/x86_64-linux-gnu/liblsan.so.0"
        try #require(FileManager.default.fileExists(atPath: lsan), "liblsan0 missing: scripts/setup.sh installs it")
        let directory = try Self.project()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        for arguments in [["policy", "check", "--policy", "canary_safety", "--input", "bad.json"], ["policy", "test"]] {
            let result = try TestSupport.run("swiftdeploy", arguments, in: directory,
                                             environment: ["LD_PRELOAD": lsan, "LSAN_OPTIONS": "exitcode=23"])
            #expect(!result.stderr.contains("LeakSanitizer"), "\(arguments): \(result.stderr.prefix(3000))")
            #expect(result.status != 23)
            #expect(result.stdout.contains(arguments[1] == "test" ? "36 passed, 0 failed" : "BLOCK canary_safety"))
        }
    }
}
