import Dashboard
import Deploy
import Foundation
import Detection
import Manifest
import Policy
import ServiceLifecycle
import Telemetry
import Vocabulary
import GuardService

/// The dashboard's data: the running guard daemon, the host, and the stack this manifest deployed.
/// (Here, because only the executable sees both `Deploy` and `Dashboard`.)
struct LiveDashboardSource: DashboardSource {
    let daemon: GuardDaemon
    let stack: Stack

    func guardSnapshot() -> GuardSnapshot { daemon.snapshot }
    var guardMetrics: GuardMetrics { daemon.metrics }

    func host() -> HostView {
        let reading = HostProbe().read(diskPath: daemon.stateDirectory)
        return HostView(load: reading.cpuLoad.isFinite ? reading.cpuLoad : nil, cores: ProcessInfo.processInfo.activeProcessorCount,
                        memUsedPct: reading.memUsedPct.isFinite ? reading.memUsedPct : nil)
    }

    func deploy() async -> DeployView? {
        guard let status = try? await StatusUseCase(stack: stack).snapshot(), !status.tracks.isEmpty else { return nil }
        return DeployView(
            tracks: status.tracks.map { track in
                DeployView.TrackView(track: track.track.rawValue, version: track.version, healthy: track.healthy, weight: track.weight,
                                     rps: track.rps, errorRate: track.errorRate, p99MS: track.p99MS)
            },
            policies: status.policies.map { DeployView.PolicyView(policy: $0.policy, allow: $0.allow, reasons: $0.reasons) })
    }

    func history(since second: Int) throws -> DashboardHistory { try DashboardHistory.load(from: daemon.store, since: second) }

    func unban(_ target: BanTarget) throws { try daemon.store.enqueue(.init(action: .unban, target: target)) }
}

/// The dashboard as a service beside the guard daemon in `guard run`'s group, serving until the group
/// shuts down (open pages included, gracefully). One that cannot listen is reported and ends; the
/// guard goes on without it (banning matters more than showing).
struct DashboardService: ServiceLifecycle.Service {
    let name: String
    let settings: DashboardSettings
    let source: LiveDashboardSource
    let console: any Console

    init(project: Project, daemon: GuardDaemon, console: any Console) {
        name = project.manifest.name
        settings = project.manifest.dashboard
        source = LiveDashboardSource(daemon: daemon, stack: Stack(project: project, console: console))
        self.console = console
    }

    func run() async throws {
        let (host, port) = settings.hostAndPort
        let server = DashboardServer(name: name, source: source, access: DashboardAccess(token: settings.token, loopbackOnly: settings.bindsLoopback))
        do {
            try await cancelWhenGracefulShutdown {
                try await server.run(host: host, port: port) { bound in
                    console.say("dashboard: http://\(settings.listen.replacingOccurrences(of: ":\(port)", with: ":\(bound)"))/ (metrics at /metrics)"
                                + (settings.token == nil ? "; unban from the page needs dashboard.token" : ""))
                }
            }
        } catch is CancellationError {
        } catch {
            console.warn("dashboard: cannot serve on \(settings.listen): \(error); the guard runs on without it (change dashboard.listen, or run with --no-dashboard)")
        }
    }
}
