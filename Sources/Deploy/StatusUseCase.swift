import Foundation
import Manifest
import Policy
import Runtime
import Telemetry
import Vocabulary
import Web

#if canImport(Glibc)
import Glibc
#endif

/// `swiftdeploy status`: per track version, instance, health, weight, req/s, error rate, p99, chaos and
/// uptime, and PASS/BLOCK per policy with the reason. Each refresh is recorded as `status_scrape`.
public struct StatusUseCase: Sendable {
    public let stack: Stack

    public init(stack: Stack) { self.stack = stack }

    /// One look at the stack (what `--json` prints, history records and the dashboard shows).
    public func snapshot() async throws -> StatusSnapshot {
        let manifest = stack.manifest
        let state = try stack.runtime.state()
        // What was started, running or not: a track whose process died is shown down, not forgotten.
        let recorded = (try? stack.runtime.recorded()) ?? state
        let analysis = CanaryAnalysis(manifest: manifest, accessLog: stack.runtime.accessLog)
        let stats = analysis.logStats()
        let canaryWeight = state.routing?.canary?.weight
        var tracks: [StatusSnapshot.TrackStatus] = []
        var canaryInput: JSONValue?
        for track in Track.allCases {
            guard let record = state.tracks[track] ?? recorded.tracks[track] else { continue }
            let running = state.tracks[track] != nil
            let health = try? await HTTP.get("http://\(record.address)\(manifest.service.healthcheck.path)", timeout: .seconds(1))
            let app = await CanaryAnalysis.scrape(record.address).app
            let trackStats = stats[track] ?? TrackStats(requests: 0, serverErrors: 0, p99LatencyMS: nil, window: analysis.window)
            let weight = track == .canary ? (canaryWeight ?? 0) : 100 - (state.tracks[.canary] != nil ? (canaryWeight ?? 0) : 0)
            if track == .canary, running { canaryInput = await analysis.canaryInput(address: record.address, probe: .seconds(1)).input }
            let details = stack.runtime.details(record.instance)
            let trackState = running ? details.state?.rawValue ?? "up" : details.state == .failed ? "failed" : "down"
            tracks.append(StatusSnapshot.TrackStatus(
                track: track, version: record.version, instance: record.instance.description, port: record.port,
                healthy: health?.status == 200, weight: weight, requests: trackStats.requests,
                rps: (trackStats.requestsPerSecond * 100).rounded() / 100, errorRate: finite(trackStats.errorRate),
                p99MS: trackStats.p99LatencyMS.flatMap(finite), appP99MS: app.p99MS.flatMap(finite), chaos: app.chaos,
                uptimeSeconds: Date().timeIntervalSince(record.startedAt).rounded(),
                image: details.image, dockerHealth: details.state == nil ? details.health : nil, restarts: details.restarts,
                state: trackState, supervisor: details.state == nil ? nil : details.health))
        }
        var policies: [StatusSnapshot.PolicyStatus] = []
        let host = stack.hostInput()
        policies.append(verdict(await stack.engine.decide(.infrastructure, input: host), input: host))
        if let canaryInput {
            policies.append(verdict(await stack.engine.decide(.canarySafety, input: canaryInput), input: canaryInput))
        }
        return StatusSnapshot(name: manifest.name, url: stack.runtime.publicURL, runtime: manifest.runtime.rawValue,
                              nginx: state.nginx?.description, windowSeconds: analysis.window, tracks: tracks, policies: policies)
    }

    /// JSON has no NaN: an unmeasurable figure is absent.
    private func finite(_ value: Double) -> Double? { value.isFinite ? value : nil }

    private func verdict(_ decision: Decision, input: JSONValue) -> StatusSnapshot.PolicyStatus {
        StatusSnapshot.PolicyStatus(policy: decision.policy.rawValue, allow: decision.allow, input: input,
                                    reasons: decision.violations.map(\.message))
    }

    /// The snapshot as a person reads it.
    public static func lines(_ snapshot: StatusSnapshot) -> [String] {
        var lines = ["\(snapshot.name)  \(snapshot.url)  (runtime \(snapshot.runtime), window \(Int(snapshot.windowSeconds))s)"]
        if snapshot.tracks.isEmpty {
            lines.append("nothing runs: `swiftdeploy deploy` starts the stable track")
        } else {
            // Containers add their image and restart count; health shows Docker's word beside ours.
            let containers = snapshot.tracks.contains { $0.image != nil }
            let header = ["track", "instance"] + (containers ? ["image", "restarts"] : []) +
                ["version", "port", "health", "weight", "req/s", "errors", "p99", "chaos", "uptime"]
            lines += TextTable.lines([header] + snapshot.tracks.map { track in
                let health: String = (track.state != "up" ? track.state.uppercased() : track.healthy ? "ok" : "UNHEALTHY")
                    + ((track.supervisor.flatMap { $0 == "up" ? nil : $0 } ?? track.dockerHealth).map { " (\($0))" } ?? "")
                let container: [String] = containers ? [track.image ?? "-", track.restarts.map(String.init) ?? "-"] : []
                let p99: String = track.p99MS.map { String(format: "%.0fms", $0) } ?? "-"
                let figures: [String] = [String(format: "%.1f", track.rps), String(format: "%.1f%%", (track.errorRate ?? 0) * 100), p99]
                return [track.track.rawValue, track.instance] + container + [track.version, String(track.port), health, "\(track.weight)%"]
                    + figures + [track.chaos ?? "-", Duration.seconds(track.uptimeSeconds).readable]
            })
        }
        for policy in snapshot.policies {
            if policy.policy == "canary_safety" {
                let input = policy.input
                lines.append(String(format: "metrics: error_rate=%.1f%% p99_latency=%.0fms requests=%d", (input["error_rate"]?.number ?? 0) * 100,
                                    input["p99_latency_ms"]?.number ?? 0, Int(input["requests"]?.number ?? 0)))
            }
            if policy.allow {
                lines.append("PASS \(policy.policy)")
            } else {
                lines += (policy.reasons.isEmpty ? ["no answer"] : policy.reasons).map { "BLOCK \(policy.policy): \($0)" }
            }
        }
        return lines
    }

    /// Prints once, or refreshes every `interval` until interrupted.
    /// Returns whether every track was up at the last look.
    @discardableResult
    public func run(once: Bool, interval: Duration, json: Bool) async throws -> Bool {
        let live = !once && isatty(STDOUT_FILENO) == 1
        var recorded = false
        var allUp = true
        repeat {
            let snapshot = try await snapshot()
            allUp = snapshot.allUp
            // One look per run goes on record, not one per refresh.
            if !recorded { try stack.history.record(.statusScrape, ["snapshot": JSONValue(snapshot)]) }
            recorded = true
            if live { stack.console.say("\u{1B}[H\u{1B}[2J", terminator: "") }
            stack.console.say(json ? snapshot.jsonLine : Self.lines(snapshot).joined(separator: "\n"))
            if once { break }
            try await Task.sleep(for: interval)
        } while !Task.isCancelled
        return allUp
    }
}

/// One look at the stack: its tracks with their live figures, and each policy's verdict.
public struct StatusSnapshot: Codable, Sendable, Equatable {
    public struct TrackStatus: Codable, Sendable, Equatable {
        public var track: Track
        public var version: String
        /// The runtime's instance: `pid 4242`, `container 3f2a…`.
        public var instance: String
        public var port: Int
        public var healthy: Bool
        /// Percent of traffic routed to it.
        public var weight: Int
        public var requests: Int
        public var rps: Double
        public var errorRate: Double?
        public var p99MS: Double?
        /// The p99 the application reports of itself (its /metrics), beside the edge's.
        public var appP99MS: Double?
        public var chaos: String?
        public var uptimeSeconds: Double
        /// A container's image, Docker's health status and restart count (runtime compose).
        public var image: String?
        public var dockerHealth: String?
        public var restarts: Int?
        /// `up`, `restarting` (the supervisor starts it again), `failed` (it gave up) or `down` (its process is gone).
        public var state: String
        /// The local supervisor's words: `up (2 restarts, last exited with status 1)`.
        public var supervisor: String?

        enum CodingKeys: String, CodingKey {
            case track, version, instance, port, healthy, weight, requests, rps, errorRate = "error_rate", p99MS = "p99_ms"
            case appP99MS = "app_p99_ms", chaos, uptimeSeconds = "uptime_s", image, dockerHealth = "docker_health", restarts, state, supervisor
        }
    }

    public struct PolicyStatus: Codable, Sendable, Equatable {
        public var policy: String
        public var allow: Bool
        /// The measurements the policy judged.
        public var input: JSONValue
        public var reasons: [String]
    }

    public var name: String
    public var url: String
    public var runtime: String
    /// The stack's nginx instance, while it runs.
    public var nginx: String?
    public var windowSeconds: Double
    public var tracks: [TrackStatus]
    public var policies: [PolicyStatus]

    /// Every track started is up and answers its health check (`status` exits 4 otherwise).
    public var allUp: Bool { tracks.allSatisfy { $0.state == "up" && $0.healthy } }

    enum CodingKeys: String, CodingKey {
        case name, url, runtime, nginx, windowSeconds = "window_s", tracks, policies
    }
}
