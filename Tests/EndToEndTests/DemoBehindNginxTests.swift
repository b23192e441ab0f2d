import Foundation
import Runtime
import TestSupport
import Testing

/// The real `swiftdeploy` and `swiftdeploy-demo` binaries and a real nginx on loopback.
@Suite(.serialized) struct DemoBehindNginx {
    @Test func deployServesTheDemoThroughNginxAndTeardownStopsIt() async throws {
        let directory = TestSupport.temporaryDirectory("e2e-deploy")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let appPort = TestSupport.freePort(), nginxPort = TestSupport.freePort()
        try """
            name: e2e
            services:
              app:
                command: [swiftdeploy-demo, --port, "{port}"]
                port: \(appPort)
                version: 4.5.6
                canary: { version: 4.6.0, port: \(TestSupport.freePort()) }
            nginx: { port: \(nginxPort), contact: e2e@example.com }
            policy: { infrastructure: { max_cpu_load: 1000, min_disk_free_gb: 0.01, max_mem_used_pct: 100 } }
            """.write(toFile: "\(directory)/swiftdeploy.yaml", atomically: true, encoding: .utf8)

        let deploy = try TestSupport.run("swiftdeploy", ["deploy"], in: directory)
        #expect(deploy.status == 0, "\(deploy.stdout)\(deploy.stderr)")
        #expect(deploy.stdout.contains("http://127.0.0.1:\(nginxPort)"))

        let response = try await TestSupport.get("http://127.0.0.1:\(nginxPort)/", headers: ["User-Agent": "e2e-test"])
        #expect(response.status == 200)
        #expect(response.headers["x-mode"] == "stable")
        #expect(response.headers["x-deployed-by"] == "swiftdeploy")
        let body = try #require(try JSONSerialization.jsonObject(with: Data(response.body.utf8)) as? [String: Any])
        #expect(body["version"] as? String == "4.5.6")
        #expect(body["mode"] as? String == "stable")

        // nginx wrote our JSON access-log line for that request, tagged with the stable track.
        let log = try String(contentsOfFile: "\(directory)/.swiftdeploy/nginx/logs/access.log", encoding: .utf8)
        let line = try #require(log.split(separator: "\n").last { $0.contains("e2e-test") })
        let entry = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(entry["upstream"] as? String == "stable")
        #expect(entry["status"] as? Int == 200)
        #expect(entry["uri"] as? String == "/")

        let teardown = try TestSupport.run("swiftdeploy", ["teardown"], in: directory)
        #expect(teardown.status == 0, "\(teardown.stderr)")
        #expect(!TestSupport.isListening(nginxPort), "nginx still listens after teardown")
        #expect(!TestSupport.isListening(appPort), "the app still listens after teardown")
    }

    @Test func deadAppGivesTheJSON502Page() async throws {
        let directory = TestSupport.temporaryDirectory("e2e-502")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let appPort = TestSupport.freePort(), nginxPort = TestSupport.freePort()
        try """
            name: e2e502
            services:
              app: { command: [swiftdeploy-demo, --port, "{port}"], port: \(appPort), version: 1.0.0 }
            nginx: { port: \(nginxPort), contact: oncall@example.com }
            policy: { infrastructure: { max_cpu_load: 1000, min_disk_free_gb: 0.01, max_mem_used_pct: 100 } }
            """.write(toFile: "\(directory)/swiftdeploy.yaml", atomically: true, encoding: .utf8)
        #expect(try TestSupport.run("swiftdeploy", ["deploy"], in: directory).status == 0)
        defer { _ = try? TestSupport.run("swiftdeploy", ["teardown"], in: directory) }
        let stable = try #require(StackState.load(from: "\(directory)/.swiftdeploy").tracks[.stable])
        guard case .process(let supervisor, _) = stable.instance, let app = Supervisor.Status.read(Supervisor.Status.file(forLog: stable.log))?.pid else {
            Issue.record("the local runtime's stable track is not a supervised process")
            return
        }
        // The supervisor first (it would start the app again), then the app.
        kill(supervisor, SIGKILL)
        kill(app, SIGKILL)
        var status = 0
        var body = ""
        for _ in 0..<200 where status != 502 {  // bounded: at most 200 tries while the app dies
            let response = try await TestSupport.get("http://127.0.0.1:\(nginxPort)/")
            status = response.status
            body = response.body
        }
        #expect(status == 502)
        let page = try #require(try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])
        #expect(page["code"] as? Int == 502)
        #expect(page["service"] as? String == "app")
        #expect(page["contact"] as? String == "oncall@example.com")
        #expect(page["error"] as? String == "bad gateway")
    }
}
