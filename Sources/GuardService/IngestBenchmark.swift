import Foundation
import Detection
import TrafficScenarios
import Manifest
import Telemetry
import Vocabulary

#if canImport(Glibc)
import Glibc
#endif

/// `swiftdeploy guard bench`: parse + windows + detection over generated JSON lines, in process
/// (`FloodBenchmark`: the live daemon under a flood).
public enum IngestBenchmark {
    public struct Figures: Sendable {
        public let lines: Int
        public let seconds: Double
        public let linesPerSecond: Double
        public let peakRSSMB: Double
        public let bans: Int
        public let trackedClients: Int
    }

    /// `lines` access-log lines from `ips` addresses, line `index` stamped `start + index / perSecond`
    /// (1,000 lines per second of log time by default), one address in a hundred sending ten times
    /// the others (so detection has work to do); with `flooder`, every `every`th line is its instead.
    public static func generate(lines: Range<Int>, ips: Int, format: AccessLogFormat = .json, start: Double = 1_800_000_000,
                                perSecond: Double = 1000, flooder: (address: String, every: Int)? = nil) -> Data {
        var out = [UInt8]()
        out.reserveCapacity(lines.count * 280)
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15 &+ UInt64(lines.lowerBound)
        for index in lines {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            let pick = Int(state >> 33)
            let client = pick % 100 == 0 ? (pick / 100) % max(1, ips / 100) : pick % ips
            var address = "10.\((client >> 16) & 255).\((client >> 8) & 255).\(client & 255)"
            if let flooder, index % flooder.every == 0 { address = flooder.address }
            let status = pick % 50 == 0 ? 404 : 200
            let request = GeneratedRequest(time: start + Double(index) / perSecond, address: address, path: "/products/\(pick % 997)?page=2",
                                           status: status, agent: "Mozilla/5.0 (X11; Linux x86_64) bench")
            let line = request.line(format) + "\n"
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
        let seconds = elapsed.seconds
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Figures(lines: replay.summary.lines, seconds: seconds, linesPerSecond: Double(lines) / seconds,
                       peakRSSMB: Double(usage.ru_maxrss) / 1024, bans: replay.summary.bans, trackedClients: replay.engine.trackedClients)
    }
}

extension IngestBenchmark {
    public struct Latency: Sendable {
        public let lines: Int
        public let p50MS: Double
        public let p99MS: Double
        public let maxMS: Double
    }

    /// From a line appended to a real file to its decision: a writer thread appends `rate` lines per
    /// second for `seconds`, each stamped with its write time; the guard's tail, woken as the daemon's
    /// is (`LogFollower`), parses and judges them. Latency = judged − written.
    public static func latency(rate: Int, seconds: Int) async throws -> Latency {
        let path = NSTemporaryDirectory() + "swiftdeploy-latency-\(UUID().uuidString.prefix(8)).log"
        _ = FileManager.default.createFile(atPath: path, contents: nil)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let total = rate * seconds
        let tail = LogTail(path: path)
        _ = tail.poll()
        let follower = LogFollower(path: path)
        let writer = Thread {
            guard let handle = FileHandle(forWritingAtPath: path) else { return }
            let started = Date().timeIntervalSince1970
            for index in 0..<total {
                let due = started + Double(index) / Double(rate)
                let wait = due - Date().timeIntervalSince1970
                if wait > 0 { usleep(UInt32(wait * 1_000_000)) }
                let now = Date().timeIntervalSince1970
                let line = "{\"msec\":\(String(format: "%.6f", now)),\"remote_addr\":\"10.1.\((index / 250) % 250).\(index % 250 + 1)\",\"xff\":\"\",\"status\":200}\n"
                handle.write(Data(line.utf8))
            }
            try? handle.close()
        }
        writer.start()
        var engine = GuardEngine(config: GuardConfig())
        var parser = GuardLogParser(format: .json, resolver: ClientResolver())
        var latencies: [Double] = []
        latencies.reserveCapacity(total)
        let deadline = ContinuousClock.now + .seconds(seconds + 5)
        while latencies.count < total && ContinuousClock.now < deadline {
            for line in tail.poll() {
                guard let event = line.withUnsafeBufferPointer({ parser.parse($0) }) else { continue }
                engine.ingest(event)
                _ = engine.drain()
                latencies.append((Date().timeIntervalSince1970 - event.timestamp) * 1000)
            }
            try Task.checkCancellation()
            await follower.wait(until: deadline)
        }
        latencies.sort()
        func at(_ q: Double) -> Double { latencies.isEmpty ? .nan : latencies[min(latencies.count - 1, Int(Double(latencies.count) * q))] }
        return Latency(lines: latencies.count, p50MS: at(0.5), p99MS: at(0.99), maxMS: latencies.last ?? .nan)
    }
}
