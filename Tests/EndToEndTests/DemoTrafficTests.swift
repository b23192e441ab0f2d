import Foundation
import TestSupport
import Testing

/// The quick start's traffic through a real nginx and the demo service: simulated clients arrive
/// with their own addresses (X-Forwarded-For from the trusted loopback proxy), the site answers
/// like a site, and the guard, replaying the very log nginx wrote, bans the attacker and no reader.
@Suite struct DemoTrafficThroughNginx {
    @Test func readersAreServedAndTheFlooderIsBanned() async throws {
        let project = try LifecycleProject("e2e-demo-traffic", extra: "guard: { trusted_proxies: [127.0.0.1] }")
        defer { _ = try? TestSupport.run("swiftdeploy", ["teardown"], in: project.directory); project.remove() }
        let scenario = "\(project.directory)/scenario"
        try FileManager.default.createDirectory(atPath: scenario, withIntermediateDirectories: true)
        try """
            duration: 16s
            seed: 21
            classes:
              - { name: readers, kind: zipf, clients: 15, pages_per_second: 2, assets: 5-20 }
              - { name: poller, kind: poller, clients: 1, every: 1-2s }
              - { name: flood, kind: flood, start: 4s, for: 8s, rate: 30-30 }
            """.write(toFile: "\(scenario)/scenario.yaml", atomically: true, encoding: .utf8)
        try "attacks: { flood: { min_recall: 1, max_time_to_ban: 5s } }\n"
            .write(toFile: "\(scenario)/expected.yaml", atomically: true, encoding: .utf8)
        #expect(try await project.run("deploy").status == 0)

        let traffic = try await project.run("demo", "traffic", "--scenario", scenario)
        #expect(traffic.status == 0, "\(traffic.stderr)")
        #expect(traffic.stdout.contains("0 failed to connect"), "\(traffic.stdout)")
        #expect(traffic.stdout.contains("200×"), "pages and assets are served: \(traffic.stdout)")

        let replay = try await project.run("guard", "replay", "--log", ".swiftdeploy/nginx/logs/access.log", "--json")
        #expect(replay.status == 0, "\(replay.stderr)")
        let objects = try replay.stdout.split(separator: "\n").map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
        let bans = objects.filter { $0["action"] as? String == "ban" }
        #expect(bans.count == 1, "only the flooder: \(bans)")
        #expect((bans.first?["condition"] as? String)?.hasPrefix("flood ") == true, "\(bans)")
        #expect((bans.first?["ip"] as? String)?.hasPrefix("127.") == false, "the client's own address, not the proxy's")
        let summary = try #require(objects.last?["summary"] as? [String: Any])
        #expect((summary["lines"] as? Int ?? 0) > 300)
        #expect(summary["bad_lines"] as? Int == 0)
    }
}
