import Foundation
import Detection
import Telemetry
import Testing
import Vocabulary

/// Fixed traffic in, exact decisions out (in the manner of CrowdSec's leaky-bucket tests): every
/// folder under `Scenarios/` is a case, its traffic in `scenario.json`, its decisions in `expected.json`.
@Suite struct DetectionScenarios {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Scenarios")

    static var cases: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? []).filter { !$0.hasPrefix(".") }.sorted()
    }

    @Test func thereAreCases() {
        #expect(!Self.cases.isEmpty, "no case folders under \(Self.root.path)")
    }

    @Test(arguments: cases)
    func meetsItsExpectation(_ name: String) throws {
        let fixture = try ScenarioFixture(folder: Self.root.appendingPathComponent(name))
        for failure in try fixture.failures(fixture.run()) {
            Issue.record("\(name): \(fixture.input.description)\n\(failure)")
        }
    }
}

@Suite struct GuardBounds {
    @Test func spoofedSourceFloodStaysUnderTheTrackingCapYetTheFloodIsJudged() {
        var config = GuardConfig()
        config.maxTrackedIPs = 1000
        var engine = GuardEngine(config: config)
        var decisions: [GuardDecision] = []
        // 50,000 distinct sources in 50 seconds, one request each; from second 20 a real attacker
        // floods among them, arriving when the cap is long full.
        let attacker = IPAddress("203.0.113.9")!
        for index in 0..<50_000 {
            let time = Double(Scenario.t0) + Double(index) / 1000
            engine.ingest(ClientEvent(timestamp: time, client: IPAddress(v4: 0x0A00_0000 + UInt32(index)), status: 200))
            if index >= 20_000, index % 20 == 0 { engine.ingest(ClientEvent(timestamp: time, client: attacker, status: 200)) }
            decisions += engine.drain()
        }
        #expect(engine.trackedClients <= 1000)
        #expect(engine.untrackedRequests == 0)
        let alerts = decisions.filter { $0.action == .trackingCap }
        #expect(alerts.count == 1, "one alert per cooldown, not one per request")
        #expect(alerts.first?.condition.hasPrefix("tracking 1000 addresses, the cap (max_tracked_ips); the 62 least recently seen forgotten") == true)
        #expect(decisions.contains { $0.action == .ban && $0.ip == attacker }, "the flood is banned although the table was full")
    }

    @Test func idleClientsAreEvicted() {
        var config = GuardConfig()
        config.baselineWindow = 300
        var engine = GuardEngine(config: config)
        for index in 0..<500 {
            engine.ingest(ClientEvent(timestamp: Double(Scenario.t0 + index % 60), client: IPAddress(v4: 0x0A00_0000 + UInt32(index)), status: 200))
        }
        #expect(engine.trackedClients == 500)
        engine.advance(to: Scenario.t0 + 60 + 300 + 61)  // idle longer than the baseline window, then a recalc
        #expect(engine.trackedClients == 0)
    }

    @Test func baselineRecalculatesOnItsTimerWithoutTraffic() {
        var engine = GuardEngine(config: GuardConfig())
        for second in 0..<120 {
            engine.ingest(ClientEvent(timestamp: Double(Scenario.t0 + second), client: IPAddress("192.0.2.1")!, status: 200))
        }
        _ = engine.drain()
        // Silence: no lines at all, only time passing.
        engine.advance(to: Scenario.t0 + 600)
        let recalcs = engine.drain().filter { $0.action == .baselineRecalc }
        #expect(recalcs.count == 1, "a recalc is due and runs when time advances")
        let summary = engine.baseline.current!
        // 120 requests in the 600 seconds seen, the empty seconds counted as zeros.
        #expect(summary.points == 600)
        #expect(abs(summary.mean - 0.2) < 1e-9)
        #expect(abs(summary.stddev - 0.4) < 1e-9)
    }

    @Test func currentHourIsPreferredOnceItHasEnoughData() {
        var baseline = Baseline(window: 1800, minPoints: 10, meanFloor: 0.1)
        let hourStart = 1_800_003_600  // a whole hour
        // The previous hour was busy (4/s); this hour is quiet (1/s).
        for second in (hourStart - 1800)..<hourStart { for _ in 0..<4 { baseline.add(at: second, error: false) } }
        for second in hourStart..<(hourStart + 300) { baseline.add(at: second, error: false) }
        #expect(baseline.recalc(at: hourStart + 300)?.source == "rolling", "5 minutes of this hour are not enough")
        for second in (hourStart + 300)..<(hourStart + 660) { baseline.add(at: second, error: false) }
        let summary = baseline.recalc(at: hourStart + 660)
        #expect(summary?.source == "hour \((hourStart / 3600) % 24)")
        #expect(summary?.mean == 1)
    }
}

@Suite struct BanSchedule {
    @Test func forgivenessStartsTheScheduleAgainAndManualBansUseTheirOwnLength() {
        var book = BanBook(schedule: [600, 1800, nil], forgiveAfter: 3600)
        let ip = BanTarget(client: IPAddress("198.51.100.1")!)
        #expect(book.ban(ip, at: 0, reason: "a").duration == 600)
        _ = book.expire(at: 600)
        #expect(book.ban(ip, at: 1000, reason: "b").duration == 1800)
        _ = book.expire(at: 2800)
        #expect(book.nextLength(ip, at: 2800) == nil, "the third offence would be permanent")
        // Quiet for longer than forgive_after: back to the first length.
        #expect(book.nextLength(ip, at: 1000 + 3601) == 600)
        #expect(book.ban(ip, at: 1000 + 3601, reason: "c").offence == 1)
        #expect(book.unban(ip)?.reason == "c")
        #expect(!book.isBanned(ip.address))
        let manual = book.ban(ip, at: 9000, reason: "manual", length: .some(nil))
        #expect(manual.until == nil)
        #expect(book.expire(at: 1_000_000).isEmpty, "a permanent ban never expires")
    }
}
