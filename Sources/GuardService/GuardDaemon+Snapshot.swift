import Detection
import Foundation
import Vocabulary

/// What the daemon publishes for the dashboard and systemd: its snapshot (behind a `Mutex`, the
/// only state read off the loop), the recent decisions and the status line.
extension GuardDaemon {
    /// Publishes what the engine knows now, with the counters the daemon keeps.
    func publish() {
        var next = snapshot
        next.at = engine.now ?? now
        next.lines = lines
        next.badLines = badLines
        next.badSamples = parser.badSamples.map(Self.redacted)
        next.trackedClients = engine.trackedClients
        next.firewallPending = firewall.pending.count
        next.firewallFailures = firewall.failures
        next.globalRPS = engine.global.rate
        next.lastSecond = engine.baseline.lastClosed
        next.baseline = engine.baseline.current
        next.warm = engine.isWarm
        next.zThreshold = engine.config.zScore
        next.top = engine.topClients(10)
        next.bans = engine.banBook.active.values.sorted { $0.ip < $1.ip }.map(GuardSnapshot.Ban.init)
        next.cohorts = (engine.cohorts.map { Array($0.flagged.values) } ?? []).sorted { $0.key < $1.key }.map(GuardSnapshot.Cohort.init)
        next.shared = shared?.status
        describeReading(in: &next)
        published.withLock { $0 = next }
    }

    /// Records decisions for the dashboard: recent events, bans by rule, detection latency.
    func record(_ decisions: [GuardDecision], lines: [String], enforcedAt: Double) {
        published.withLock { current in
            for (decision, line) in zip(decisions, lines) where decision.action != .baselineRecalc {
                current.events.append(line)
                if decision.action == .ban, let rule = decision.rule { current.bansTotal[rule, default: 0] += 1 }
                if let observed = decision.observedAt { metrics.observeDetection(seconds: enforcedAt - observed) }
            }
            if current.events.count > 30 { current.events.removeFirst(current.events.count - 30) }
        }
    }

    /// A malformed line as the dashboard may show it: its shape (letters as `a`, digits as `0`,
    /// punctuation kept, 120 characters at most), never its text. Whatever ended up in the log (a
    /// file swapped for a secret, a token in a URL) is not published; the shape is what tells a
    /// format mismatch.
    static func redacted(_ line: String) -> String {
        String(line.prefix(120).map { $0.isLetter ? "a" : $0.isNumber ? "0" : $0 })
    }

    /// One line for `systemctl status`.
    var statusLine: String {
        let snapshot = self.snapshot
        return String(format: "following %@: %.1f req/s, %d bans in force, %d lines read", logPath, snapshot.globalRPS, snapshot.bans.count, lines)
    }
}
