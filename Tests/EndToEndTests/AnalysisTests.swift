import Foundation
import Spawn
import TestSupport
import Testing

/// Analysis as Flagger does it, on a live stack (real nginx, real demo processes, the real CLI):
/// checks every interval, iterations in a row, the user's own metrics measured from the real log
/// and /metrics in the policy's input, and header or cookie routing to the canary. Every branch of
/// the analysis (thresholds, inconclusive steps, deadlines, --force, Ctrl-C) is in
/// DeployTests.Promotion, on fakes.
@Suite(.serialized) struct LifecycleAnalysis {
    /// A tester's header or cookie reaches the canary even at weight 0; everyone else stays on stable.
    @Test func matchingRequestsGoToTheCanaryWhateverItsWeight() async throws {
        let project = try LifecycleProject("e2e-match")
        try rewrite(project) {
            $0.replacingOccurrences(of: "weight: 50 }", with: "weight: 0, match: { headers: { X-Canary: always }, cookies: { beta: yes } } }")
        }
        defer { _ = try? TestSupport.run("swiftdeploy", ["teardown"], in: project.directory); project.remove() }
        #expect(try await project.run("deploy").status == 0)
        let started = try await project.run("canary", "start")
        #expect(started.status == 0, "\(started.stdout)\(started.stderr)")
        func versions(_ headers: [String: String]) async throws -> [String: Int] {
            var seen: [String: Int] = [:]
            for _ in 0..<20 {
                let response = try await TestSupport.get(project.url, headers: headers)
                let body = try JSONSerialization.jsonObject(with: Data(response.body.utf8)) as? [String: Any]
                seen[body?["version"] as? String ?? "HTTP \(response.status)", default: 0] += 1
            }
            return seen
        }
        #expect(try await versions([:]) == ["1.0.0": 20])
        #expect(try await versions(["X-Canary": "always"]) == ["2.0.0": 20])
        #expect(try await versions(["Cookie": "session=1; beta=yes"]) == ["2.0.0": 20])
        #expect(try await versions(["X-Canary": "sometimes", "Cookie": "beta=no"]) == ["1.0.0": 20])
        // The analysis counts them as the canary's: nginx logged them on its track.
        let log = try String(contentsOfFile: "\(project.directory)/.swiftdeploy/nginx/logs/access.log", encoding: .utf8)
        #expect(log.components(separatedBy: "\"upstream\":\"canary\"").count - 1 == 40)
    }

    /// `iterations` checks in a row pass each step; the user's metrics (one from the log, one from
    /// the app's Prometheus counters) arrive in the policy's input and are held to their bounds.
    @Test func iterationsPassInARowAndUserMetricsReachThePolicy() async throws {
        let project = try LifecycleProject(
            "e2e-analysis",
            canarySafety: """
                { max_error_rate: 5%, max_p99_latency_ms: 2000, min_requests: 10, window: 3s, interval: 1s, iterations: 2, threshold: 2,
                  metrics: { \
                    root_errors: { kind: ratio, match: { path: "/", method: GET }, of: { status: 5xx }, max: 0.05 }, \
                    app_rps: { source: prometheus, kind: rate, metric: http_requests_total, min: 1 } } }
                """)
        defer { _ = try? TestSupport.run("swiftdeploy", ["teardown"], in: project.directory); project.remove() }
        #expect(try await project.run("deploy").status == 0)
        #expect(try await project.run("canary", "start", "--weight", "50").status == 0)
        let promoted = try await project.runUnderLoad("promote", "--steps", "50,100", maxRequests: 50_000).result
        #expect(promoted.status == 0, "\(promoted.stdout)\(promoted.stderr)")
        #expect(promoted.stdout.contains("a check every 1s; 2 passing in a row go on, 2 failed roll back"), "\(promoted.stdout)")
        #expect(promoted.stdout.components(separatedBy: "check 2 of 2 in a row passed").count - 1 == 2, "\(promoted.stdout)")
        let decisions = try history(project).filter { $0["event"] as? String == "policy" && ($0["decision"] as? [String: Any])?["policy"] as? String == "canary_safety" }
        #expect(decisions.count >= 4)
        for decision in decisions {
            let metrics = try #require((decision["input"] as? [String: Any])?["metrics"] as? [String: Any])
            let rootErrors = try #require(metrics["root_errors"] as? Double)
            let rate = try #require(metrics["app_rps"] as? Double, "\(metrics)")
            #expect(rootErrors == 0 && rate >= 1, "\(metrics)")
        }
        let promotion = try #require(try history(project).last { $0["event"] as? String == "promote" })
        #expect(promotion["checks"] as? Int == 4 && promotion["failed_checks"] as? Int == 0, "\(promotion)")
    }

    /// Ctrl-C during a stepped promotion (SIGINT to the real command): the traffic goes back to
    /// the canary's weight before the promotion, the canary keeps running, and history says so.
    @Test func anInterruptedPromotionPutsTheTrafficBack() async throws {
        let project = try LifecycleProject("e2e-interrupt", canarySafety: LifecycleProject.lenientAnalysis)
        defer { _ = try? TestSupport.run("swiftdeploy", ["teardown"], in: project.directory); project.remove() }
        #expect(try await project.run("deploy").status == 0)
        #expect(try await project.run("canary", "start", "--weight", "10").status == 0)
        let promotion = Task { try await project.run("promote", "--steps", "50,100", "--interval", "47s") }
        var pid: Int32?
        for _ in 0..<400 where pid == nil {  // bounded: 20 s for the first step to be on record
            let stepped = ((try? String(contentsOfFile: "\(project.directory)/.swiftdeploy/history.jsonl", encoding: .utf8)) ?? "").contains("\"promote_step\"")
            let found = (try? ChildProcess.run(["pgrep", "-f", "swiftdeploy promote --steps 50,100 --interval 47s"]).output) ?? ""
            pid = stepped ? found.split(separator: "\n").first.flatMap { Int32($0) } : nil
            if pid == nil { try await Task.sleep(for: .milliseconds(50)) }
        }
        let running = try #require(pid, "the promotion reached its first step")
        kill(running, SIGINT)
        let result = try await promotion.value
        #expect(result.status != 0 && result.stderr.contains("promote: interrupted at step 1 (50%); the canary is back to 10% of requests"), "\(result.stderr)")
        let state = try String(contentsOfFile: "\(project.directory)/.swiftdeploy/stack.json", encoding: .utf8)
        #expect(state.contains("\"weight\":10"), "nginx routes 10% to the canary again: \(state)")
        let aborted = try #require(try history(project).last { $0["event"] as? String == "promote_aborted" })
        #expect(aborted["weight"] as? Int == 10 && aborted["step_weight"] as? Int == 50, "\(aborted)")
        #expect(try await project.traffic(40).versions["2.0.0", default: 0] > 0, "the canary still serves")
    }

    func history(_ project: LifecycleProject) throws -> [[String: Any]] {
        try String(contentsOfFile: "\(project.directory)/.swiftdeploy/history.jsonl", encoding: .utf8).split(separator: "\n")
            .compactMap { try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }

    func rewrite(_ project: LifecycleProject, _ change: (String) -> String) throws {
        let file = "\(project.directory)/swiftdeploy.yaml"
        try change(try String(contentsOfFile: file, encoding: .utf8)).write(toFile: file, atomically: true, encoding: .utf8)
    }
}
