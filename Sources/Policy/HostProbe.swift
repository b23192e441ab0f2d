import Foundation
import Vocabulary

#if canImport(Glibc)
import Glibc
#endif

/// Measures what the infrastructure policy judges: load, free disk and memory in use.
public struct HostProbe: Sendable {
    public struct Reading: Sendable, Equatable {
        /// 1-minute load average.
        public var cpuLoad: Double
        /// Free space (GB) of the filesystem holding `path`, for an unprivileged user.
        public var diskFreeGB: Double
        /// Memory in use, 0-100, from MemTotal and MemAvailable.
        public var memUsedPct: Double
        /// Processors online: the policy judges the load per core.
        public var cores: Int = ProcessInfo.processInfo.activeProcessorCount

        public var input: JSONValue {
            ["cpu_load": .measured(cpuLoad), "cores": .number(Double(cores)), "disk_free_gb": .measured(diskFreeGB), "mem_used_pct": .measured(memUsedPct)]
        }
    }

    public init() {}

    /// Reads the host now; a value that cannot be read is NaN, which the policy denies on.
    public func read(diskPath: String) -> Reading {
        Reading(
            cpuLoad: (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8)).flatMap(Self.loadAverage) ?? .nan,
            diskFreeGB: Self.freeGB(nearestExisting(diskPath)) ?? .nan,
            memUsedPct: (try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8)).flatMap(Self.memoryUsedPercent) ?? .nan
        )
    }

    /// The first field of /proc/loadavg.
    static func loadAverage(_ text: String) -> Double? {
        text.split(separator: " ").first.flatMap { Double($0) }
    }

    /// 100 × (1 − MemAvailable / MemTotal) from /proc/meminfo.
    static func memoryUsedPercent(_ text: String) -> Double? {
        var total: Double?, available: Double?
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 2 else { continue }
            if fields[0] == "MemTotal:" { total = Double(fields[1]) }
            if fields[0] == "MemAvailable:" { available = Double(fields[1]) }
        }
        guard let total, let available, total > 0 else { return nil }
        return (1 - available / total) * 100
    }

    static func freeGB(_ path: String) -> Double? {
        var stats = statvfs()
        guard statvfs(path, &stats) == 0 else { return nil }
        return Double(stats.f_bavail) * Double(stats.f_frsize) / 1_000_000_000
    }

    /// The state directory may not exist before the first deploy: measure the filesystem it will be on.
    private func nearestExisting(_ path: String) -> String {
        var current = path
        while !FileManager.default.fileExists(atPath: current), current != "/", !current.isEmpty {
            current = (current as NSString).deletingLastPathComponent
        }
        return current.isEmpty ? "/" : current
    }
}
