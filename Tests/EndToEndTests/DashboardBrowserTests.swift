import Foundation
import GuardService
import Runtime
import TestSupport
import Testing
import Spawn

/// Headless Chromium (installed by scripts/setup.sh) driven over the DevTools protocol by
/// Browser/browser.py; it answers one JSON object.
struct Browser {
    static var available: Bool { (try? ChildProcess.resolve("chromium")) != nil }
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Browser/browser.py").path

    struct Result: Decodable {
        var ready: Bool
        var failed: String?
        var values: [String: JSONAny]
        var errors: [String]
    }

    /// A JSON value of any kind, read as text.
    struct JSONAny: Decodable {
        var text: String
        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let value = try? container.decode(String.self) { text = value }
            else if let value = try? container.decode(Double.self) { text = value == value.rounded() ? String(Int(value)) : String(value) }
            else if let value = try? container.decode(Bool.self) { text = String(value) }
            else { text = "null" }
        }
    }

    /// A script to run in the page, or one to wait for.
    enum Step {
        case run(String)
        case until(String)
    }

    /// Opens `url`, waits (bounded by `timeout`) until `until` is true, evaluates `values`, saves a screenshot.
    static func open(_ url: String, until: String, timeout: Int, values: [String: String], screenshot: String) async throws -> Result {
        try await open(url, steps: [.until(until)], timeout: timeout, values: values, screenshot: screenshot)
    }

    /// Opens `url` and runs the steps in order (each wait bounded by `timeout`), then evaluates `values`.
    static func open(_ url: String, steps: [Step], timeout: Int, values: [String: String], screenshot: String) async throws -> Result {
        var arguments = [script, url, "--timeout", String(timeout), "--screenshot", screenshot]
        for step in steps {
            switch step {
            case .run(let script): arguments += ["--do", script]
            case .until(let script): arguments += ["--until", script]
            }
        }
        for (name, expression) in values { arguments += ["--eval", "\(name)=\(expression)"] }
        let command = ["python3"] + arguments
        let output: String = try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(with: Swift.Result {
                    let result = try ChildProcess.capture(command)
                    FileHandle.standardError.write(Data(result.errors.utf8))
                    return result.output
                })
            }
        }
        return try JSONDecoder().decode(Result.self, from: Data(output.utf8))
    }
}

@Suite(.serialized, .enabled(if: Browser.available, "chromium is missing: scripts/setup.sh installs it"))
struct DashboardInTheBrowser {
    /// The real daemon with its dashboard, fed live; a real browser opens the page before the
    /// attack, sees the rate change and the ban appear (with a ticking remaining time), and a
    /// hostile log line is shown as its shape, as text, without anything of it running. A screenshot is kept.
    @Test func liveDashboardShowsTheBanAndRunsNothingFromTheLog() async throws {
        let port = TestSupport.freePort()
        let daemon = try GuardProcess.Daemon(guardSection: """
              log: access.log
              enforcer: dry-run
              thresholds: { z_score: 10, multiplier: 20 }
              window: 4s
              bans: [1h]
              baseline: { window: 60s, recalc: 1s }
            dashboard: { listen: 127.0.0.1:\(port) }
            """)
        defer { try? FileManager.default.removeItem(atPath: daemon.directory) }
        let pid = try await daemon.start()
        defer { ChildProcess.signal(pid, SIGKILL) }
        try await daemon.waitFor("dashboard: http://127.0.0.1:\(port)/")
        let hostile = #"<img src=x onerror="window.__pwned=1"><script>window.__pwned=1</script>"#
        try append("\(hostile) GET /\n", to: daemon.log)
        try append(#"{"msec":\#(Date().timeIntervalSince1970),"remote_addr":"\#(hostile.replacingOccurrences(of: "\"", with: "\\\""))","status":200}"# + "\n", to: daemon.log)

        let screenshot = "\(TestSupport.productsDirectory)/test-output/dashboard.png"
        try FileManager.default.createDirectory(atPath: (screenshot as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let page = Task {
            try await Browser.open("http://127.0.0.1:\(port)/", until: """
                Number(document.body.dataset.updates) >= 3 && Number(document.body.dataset.rates) >= 2 &&
                document.querySelector('tr[data-ip="198.51.100.7"] td.remaining') !== null &&
                /m[0-9][0-9]s$/.test(document.querySelector('tr[data-ip="198.51.100.7"] td.remaining').textContent)
                """, timeout: 45, values: [
                    "ban": "document.querySelector('tr[data-ip=\"198.51.100.7\"]').textContent",
                    "pwned": "String(window.__pwned)",
                    "bad": "document.getElementById('bad').textContent",
                    "injected": "document.querySelectorAll('#bad img, #bad script, body > script').length",
                    "rps": "document.getElementById('rps').textContent",
                    "chart": "document.getElementById('chart').toDataURL().length",
                ], screenshot: screenshot)
        }
        // Ten clients at 10 req/s for 6 s, then a flood while the page is open.
        for _ in 0..<60 {
            try daemon.traffic(10)
            try await Task.sleep(for: .milliseconds(100))
        }
        var flood = ""
        for _ in 0..<600 { flood += line(Date().timeIntervalSince1970, "198.51.100.7") }
        try append(flood, to: daemon.log)
        for _ in 0..<30 {  // keep the site alive while the browser looks
            try daemon.traffic(10)
            try await Task.sleep(for: .milliseconds(100))
        }
        let result = try await page.value
        print("dashboard screenshot: \(screenshot)")
        #expect(result.ready, "the page never showed live data with the ban: \(result.values.mapValues(\.text))")
        #expect(result.values["ban"]?.text.contains("198.51.100.7") == true)
        #expect(result.values["ban"]?.text.contains("flood requests=") == true, "the ban names its rule and figures")
        #expect(result.values["pwned"]?.text == "undefined", "nothing from the log ran")
        #expect(result.values["injected"]?.text == "1", "the only script element is the page's own")
        // Malformed lines are published as their shape only (letters as a, digits as 0), shown as text.
        #expect(result.values["bad"]?.text.contains(#"<aaa aaa=a aaaaaaa="aaaaaa.__aaaaa=0"><aaaaaa>aaaaaa.__aaaaa=0</aaaaaa>"#) == true,
                "the hostile line is shown as its shape, as text")
        #expect(result.values["bad"]?.text.contains("pwned") == false, "no text of a malformed line is published")
        #expect(result.errors.isEmpty, "no script errors: \(result.errors)")
        #expect(FileManager.default.fileExists(atPath: screenshot))
    }

    /// The deploy side: a real stack (demo app behind nginx) whose canary fails; the dashboard of
    /// the guard following its log shows both tracks, the canary's error rate in `/api/state` and
    /// `/metrics`, and BLOCK for canary_safety with the reason, in the browser too.
    @Test func deploySideShowsTracksAndTheBlockingPolicy() async throws {
        let port = TestSupport.freePort()
        let project = try LifecycleProject("e2e-dash", extra: "guard: { enforcer: dry-run }\ndashboard: { listen: 127.0.0.1:\(port) }")
        defer { _ = try? TestSupport.run("swiftdeploy", ["teardown"], in: project.directory); project.remove() }
        #expect(try await project.run("deploy").status == 0)
        #expect(try await project.run("canary", "start").status == 0)
        #expect(try await project.run("chaos", "error", "--rate", "0.5").status == 0)
        _ = try await project.traffic(120)
        // Traffic goes on while the dashboard is read: the 3 s analysis window must never empty
        // (an empty window blocks as "not enough traffic", not on the error rate).
        let load = Task { while !Task.isCancelled { _ = try? await project.traffic(10) } }
        defer { load.cancel() }
        let pid = try ChildProcess.spawn([TestSupport.product("swiftdeploy"), "guard", "run", "-f", "\(project.directory)/swiftdeploy.yaml"],
                                         logFile: "\(project.directory)/guard.out")
        defer { ChildProcess.signal(pid, SIGKILL) }
        var state: [String: Any] = [:]
        // Until the deploy side shows the canary's errors blocking it (bounded: 20 s; on a loaded
        // machine the first analysis windows can still be short of traffic).
        func blockedOnErrors(_ state: [String: Any]) -> Bool {
            let policies = (state["deploy"] as? [String: Any])?["policies"] as? [[String: Any]] ?? []
            let safety = policies.first { $0["policy"] as? String == "canary_safety" }
            return (safety?["reasons"] as? [String])?.first?.contains("error_rate") == true
        }
        for _ in 0..<200 where !blockedOnErrors(state) {
            if let answer = try? await TestSupport.get("http://127.0.0.1:\(port)/api/state"),
               let object = try? JSONSerialization.jsonObject(with: Data(answer.body.utf8)) as? [String: Any] { state = object }
            if !blockedOnErrors(state) { try await Task.sleep(for: .milliseconds(100)) }
        }
        let deploy = try #require(state["deploy"] as? [String: Any], "no deploy side in \(state)")
        let tracks = try #require(deploy["tracks"] as? [[String: Any]])
        #expect(Set(tracks.compactMap { $0["version"] as? String }) == ["1.0.0", "2.0.0"])
        let canary = try #require(tracks.first { $0["track"] as? String == "canary" })
        #expect((canary["errorRate"] as? Double ?? 0) > 0.2, "\(canary)")
        let policies = try #require(deploy["policies"] as? [[String: Any]])
        let safety = try #require(policies.first { $0["policy"] as? String == "canary_safety" })
        #expect(safety["allow"] as? Bool == false)
        #expect((safety["reasons"] as? [String])?.first?.contains("error_rate") == true)
        let metrics = try await TestSupport.get("http://127.0.0.1:\(port)/metrics").body
        // The canary's error rate over the live window, a share (its value moves with each 3 s
        // window: the state above already showed the errors).
        let prefix = #"swiftdeploy_track_error_rate{track="canary",version="2.0.0"} "#
        let line: Substring? = metrics.split(separator: "\n").first { $0.hasPrefix(prefix) }
        let canaryErrors: Double = line.flatMap { Double($0.dropFirst(prefix.count)) } ?? -1
        #expect(canaryErrors >= 0 && canaryErrors <= 1, "\(metrics)")
        #expect(metrics.contains(#"swiftdeploy_policy_allow{policy="canary_safety"} 0"#))

        let screenshot = "\(TestSupport.productsDirectory)/test-output/dashboard-deploy.png"
        let page = try await Browser.open("http://127.0.0.1:\(port)/", until: """
            document.getElementById('policies').textContent.includes('BLOCK canary_safety') &&
            document.getElementById('tracks').querySelectorAll('tr').length === 2
            """, timeout: 20, values: ["policies": "document.getElementById('policies').textContent"], screenshot: screenshot)
        #expect(page.ready, "\(page.values.mapValues(\.text))")
        #expect(page.values["policies"]?.text.contains("error_rate") == true)
    }

    /// Unban from the page: refused without the token (the page says how to log in), then after
    /// logging in with the token the ban goes away in the guard and on the page.
    @Test func unbanFromThePageNeedsTheLogin() async throws {
        let port = TestSupport.freePort()
        let daemon = try GuardProcess.Daemon(guardSection: """
              log: access.log
              enforcer: dry-run
            dashboard: { listen: 127.0.0.1:\(port), token: t0ken-for-the-browser-test }
            """)
        defer { try? FileManager.default.removeItem(atPath: daemon.directory) }
        let pid = try await daemon.start()
        defer { ChildProcess.signal(pid, SIGKILL) }
        let added = try await TestSupport.runDetached("swiftdeploy", ["guard", "bans", "add", "192.0.2.99", "-f", daemon.manifest])
        #expect(added.status == 0, "\(added.stdout)\(added.stderr)")
        #expect(added.stdout.contains("guard: 192.0.2.99 banned by the running daemon (pid \(pid))"), "acknowledged, not just handed over: \(added.stdout)")
        let row = "document.querySelector('tr[data-ip=\"192.0.2.99\"]')"
        let click = "\(row).querySelector('button').click()"
        let result = try await Browser.open("http://127.0.0.1:\(port)/", steps: [
            .until("\(row) !== null"),
            .run(click),
            .until("document.getElementById('action').textContent.includes('/login')"),
            .run("location.href = '/login'"),
            .until("location.pathname === '/login' && document.forms.length === 1"),
            .run("document.querySelector('input[name=token]').value = 't0ken-for-the-browser-test'; document.forms[0].submit()"),
            .until("location.pathname === '/' && \(row) !== null"),
            .run(click),
            .until("\(row) === null"),
        ], timeout: 15, values: ["action": "document.getElementById('action').textContent"],
           screenshot: "\(TestSupport.productsDirectory)/test-output/dashboard-unban.png")
        #expect(result.ready, "stopped waiting for: \(result.failed ?? "-"); \(result.values.mapValues(\.text))")
        #expect(result.values["action"]?.text == "unban of 192.0.2.99 handed to the guard")
        let audit = try String(contentsOfFile: GuardDaemon.auditPath(stateDirectory: "\(daemon.directory)/.swiftdeploy"), encoding: .utf8)
        #expect(audit.contains("UNBAN ip=192.0.2.99 | condition=manual"), "\(audit)")
    }
}
