import Foundation
import Manifest
import Policy
import Runtime
import Telemetry
import Vocabulary

#if canImport(Glibc)
import Glibc
#endif

/// `swiftdeploy status`: per track version, pid, health, weight, req/s, error rate, p99, chaos and
/// uptime, and PASS/BLOCK per policy with the reason. Each refresh is recorded as `status_scrape`.
public struct StatusUseCase: Sendable {
    public let stack: Stack

    public init(stack: Stack) { self.stack = stack }

    /// One look at the stack, as JSON (what `--json` prints and history records).
    public func snapshot() async throws -> JSONValue {
        let manifest = stack.manifest
        let state = try stack.runtime.state()
        let stats = CanaryAnalysis(manifest: manifest).logStats()
        let canaryWeight = state.routing?.canary?.weight
        var tracks: [JSONValue] = []
        var canaryInput: JSONValue?
        for track in Track.allCases {
            guard let record = state.tracks[track] else { continue }
            let health = try? await LoopbackHTTP.get("http://127.0.0.1:\(record.port)\(manifest.service.healthcheck.path)", timeout: .seconds(1))
            let app = await CanaryAnalysis.scrape(port: record.port)
            let trackStats = stats[track] ?? TrackStats(requests: 0, serverErrors: 0, p99LatencyMS: nil, window: CanaryAnalysis(manifest: manifest).window)
            let weight = track == .canary ? (canaryWeight ?? 0) : 100 - (state.tracks[.canary] != nil ? (canaryWeight ?? 0) : 0)
            if track == .canary { canaryInput = CanaryAnalysis.input(trackStats, app: app.p99MS) }
            tracks.append([
                "track": .string(track.rawValue), "version": .string(record.version), "pid": .number(Double(record.pid)),
                "port": .number(Double(record.port)), "healthy": .bool(health?.status == 200), "weight": .number(Double(weight)),
                "requests": .number(Double(trackStats.requests)), "rps": .number((trackStats.requestsPerSecond * 100).rounded() / 100),
                "error_rate": .measured(trackStats.errorRate), "p99_ms": trackStats.p99LatencyMS.map(JSONValue.measured) ?? .null,
                "app_p99_ms": app.p99MS.map(JSONValue.measured) ?? .null, "chaos": app.chaos.map(JSONValue.string) ?? .null,
                "uptime_s": .number(Date().timeIntervalSince(record.startedAt).rounded()),
            ])
        }
        var policies: [JSONValue] = []
        let host = stack.hostInput()
        policies.append(verdict(await stack.engine.decide(.infrastructure, input: host), input: host))
        if let canaryInput {
            policies.append(verdict(await stack.engine.decide(.canarySafety, input: canaryInput), input: canaryInput))
        }
        return [
            "name": .string(manifest.name), "url": .string(stack.runtime.publicURL), "runtime": .string(manifest.runtime.rawValue),
            "nginx_pid": state.nginxPid.map { .number(Double($0)) } ?? .null, "window_s": .number(CanaryAnalysis(manifest: manifest).window),
            "tracks": .array(tracks), "policies": .array(policies),
        ]
    }

    private func verdict(_ decision: Decision, input: JSONValue) -> JSONValue {
        [
            "policy": .string(decision.policy.rawValue), "allow": .bool(decision.allow), "input": input,
            "reasons": .array(decision.violations.map { .string($0.message) }),
        ]
    }

    /// The snapshot as a person reads it.
    public static func lines(_ snapshot: JSONValue) -> [String] {
        var lines = ["\(snapshot["name"]?.string ?? "")  \(snapshot["url"]?.string ?? "")  (runtime \(snapshot["runtime"]?.string ?? ""), window \(Int(snapshot["window_s"]?.number ?? 0))s)"]
        let tracks = snapshot["tracks"]?.array ?? []
        if tracks.isEmpty {
            lines.append("nothing runs: `swiftdeploy deploy` starts the stable track")
        } else {
            let header = ["track", "version", "pid", "port", "health", "weight", "req/s", "errors", "p99", "chaos", "uptime"]
            var rows = [header]
            for track in tracks {
                func number(_ key: String) -> Double? { track[key]?.number }
                rows.append([
                    track["track"]?.string ?? "", track["version"]?.string ?? "", number("pid").map { String(Int($0)) } ?? "",
                    number("port").map { String(Int($0)) } ?? "", track["healthy"]?.bool == true ? "ok" : "DOWN",
                    "\(Int(number("weight") ?? 0))%", String(format: "%.1f", number("rps") ?? 0),
                    String(format: "%.1f%%", (number("error_rate") ?? 0) * 100), number("p99_ms").map { String(format: "%.0fms", $0) } ?? "-",
                    track["chaos"]?.string ?? "-", Duration.seconds(number("uptime_s") ?? 0).readable,
                ])
            }
            lines += TextTable.lines(rows)
        }
        for policy in snapshot["policies"]?.array ?? [] {
            let name = policy["policy"]?.string ?? ""
            if name == "canary_safety", let input = policy["input"] {
                let rate = (input["error_rate"]?.number ?? 0) * 100
                lines.append(String(format: "metrics: error_rate=%.1f%% p99_latency=%.0fms requests=%d", rate,
                                    input["p99_latency_ms"]?.number ?? 0, Int(input["requests"]?.number ?? 0)))
            }
            if policy["allow"]?.bool == true {
                lines.append("PASS \(name)")
            } else {
                let reasons = policy["reasons"]?.array?.compactMap(\.string) ?? []
                lines += (reasons.isEmpty ? ["no answer"] : reasons).map { "BLOCK \(name): \($0)" }
            }
        }
        return lines
    }

    /// Prints once, or refreshes every `interval` until interrupted.
    public func run(once: Bool, interval: Duration, json: Bool) async throws {
        let live = !once && isatty(STDOUT_FILENO) == 1
        repeat {
            let snapshot = try await snapshot()
            try stack.history.record("status_scrape", ["snapshot": snapshot])
            if live { stack.console.say("\u{1B}[H\u{1B}[2J", terminator: "") }
            stack.console.say(json ? snapshot.description : Self.lines(snapshot).joined(separator: "\n"))
            if once { break }
            try await Task.sleep(for: interval)
        } while !Task.isCancelled
    }
}
