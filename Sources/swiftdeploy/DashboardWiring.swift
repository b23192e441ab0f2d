import Dashboard
import Deploy
import Foundation
import Guard
import Manifest
import Policy
import Telemetry
import Vocabulary
import GuardService

/// The dashboard's data: the running guard daemon, the host, and the stack this manifest deployed.
/// (Here, because only the executable sees both `Deploy` and `Dashboard`.)
struct LiveDashboardSource: DashboardSource {
    let daemon: GuardDaemon
    let stack: Stack

    func guardSnapshot() -> GuardSnapshot { daemon.snapshot }

    func host() -> HostView {
        let reading = HostProbe().read(diskPath: daemon.stateDirectory)
        return HostView(load: reading.cpuLoad.isFinite ? reading.cpuLoad : nil, cores: ProcessInfo.processInfo.activeProcessorCount,
                        memUsedPct: reading.memUsedPct.isFinite ? reading.memUsedPct : nil)
    }

    func deploy() async -> DeployView? {
        guard let status = try? await StatusUseCase(stack: stack).snapshot(), let tracks = status["tracks"]?.array, !tracks.isEmpty else { return nil }
        return DeployView(
            tracks: tracks.map { track in
                DeployView.TrackView(track: track["track"]?.string ?? "", version: track["version"]?.string ?? "",
                                     healthy: track["healthy"]?.bool ?? false, weight: Int(track["weight"]?.number ?? 0),
                                     rps: track["rps"]?.number ?? 0, errorRate: track["error_rate"]?.number, p99MS: track["p99_ms"]?.number)
            },
            policies: (status["policies"]?.array ?? []).map { policy in
                DeployView.PolicyView(policy: policy["policy"]?.string ?? "", allow: policy["allow"]?.bool ?? false,
                                      reasons: (policy["reasons"]?.array ?? []).compactMap(\.string))
            })
    }

    func history(since second: Int) throws -> DashboardHistory { try DashboardHistory.load(from: daemon.store, since: second) }

    func unban(_ ip: IPAddress) throws { try daemon.store.enqueue(.init(action: .unban, ip: ip)) }
}
