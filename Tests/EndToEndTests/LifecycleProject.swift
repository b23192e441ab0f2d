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
