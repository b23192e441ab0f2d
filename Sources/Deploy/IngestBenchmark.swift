import Foundation
import Guard
import Telemetry

#if canImport(Glibc)
import Glibc
#endif

/// `swiftdeploy guard bench`: parse + windows + detection over generated JSON lines, in process.
public enum IngestBenchmark {
    public struct Figures: Sendable {
        public let lines: Int
        public let seconds: Double
        public let linesPerSecond: Double
        public let peakRSSMB: Double
        public let bans: Int
        public let trackedClients: Int
    }

    /// `lines` access-log lines from `ips` addresses at 1,000 lines per second of log time, one
    /// address in a hundred sending ten times the others (so detection has work to do).
    public static func generate(lines: Range<Int>, ips: Int) -> Data {
        var out = [UInt8]()
        out.reserveCapacity(lines.count * 280)
        let start = 1_800_000_000.0
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15 &+ UInt64(lines.lowerBound)
        for index in lines {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            let pick = Int(state >> 33)
            let client = pick % 100 == 0 ? (pick / 100) % max(1, ips / 100) : pick % ips
            let address = "10.\((client >> 16) & 255).\((client >> 8) & 255).\(client & 255)"
            let status = pick % 50 == 0 ? 404 : 200
            let time = start + Double(index) / 1000
            let line = "{\"time\":\"2027-01-15T08:00:00+00:00\",\"msec\":\(String(format: "%.3f", time)),\"remote_addr\":\"\(address)\",\"xff\":\"\",\"method\":\"GET\",\"uri\":\"/products/\(pick % 997)?page=2\",\"status\":\(status),\"bytes\":\(512 + pick % 4096),\"request_time\":0.004,\"upstream_response_time\":\"0.004\",\"upstream\":\"stable\",\"ua\":\"Mozilla/5.0 (X11; Linux x86_64) bench\"}\n"
            out.append(contentsOf: line.utf8)
        }
        return Data(out)
    }

    /// Lines are generated in chunks of 20,000 outside the timed part, so the figures are the
    /// pipeline's own (and peak RSS is the pipeline's state, not a giant buffer of test lines).
    public static func run(lines: Int, ips: Int, config: GuardConfig = GuardConfig()) -> Figures {
        var settings = config
        settings.maxTrackedIPs = max(config.maxTrackedIPs, ips * 2)
        var replay = Replay(config: settings, parser: GuardLogParser(format: .json, resolver: ClientResolver()))
        var elapsed = Duration.zero
        for chunk in stride(from: 0, to: lines, by: 20_000) {
            let data = generate(lines: chunk..<min(lines, chunk + 20_000), ips: ips)
            let started = ContinuousClock.now
            _ = replay.feed(data)
            elapsed += ContinuousClock.now - started
        }
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Figures(lines: replay.summary.lines, seconds: seconds, linesPerSecond: Double(lines) / seconds,
                       peakRSSMB: Double(usage.ru_maxrss) / 1024, bans: replay.summary.bans, trackedClients: replay.engine.trackedClients)
    }
}
