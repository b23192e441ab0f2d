import Guard
import Telemetry
import Testing
import Vocabulary

/// Fixed traffic in, exact decisions out (in the manner of CrowdSec's leaky-bucket tests).
@Suite struct DetectionScenarios {
    let t0 = Scenario.t0

    @Test func hoursOfSteadyTrafficBanNobody() {
        var scenario = Scenario()
        scenario.crowd(60, rate: 0.5, from: t0, seconds: 3 * 3600)
        scenario.steady("10.9.0.1", rate: 2, from: t0, seconds: 3 * 3600)
        #expect(scenario.run().map(\.summary) == [])
    }

    @Test func singleIPBurstIsBannedWithinItsFirstWindow() throws {
        var scenario = Scenario()
        scenario.crowd(40, rate: 0.5, from: t0, seconds: 1200)
        scenario.steady("203.0.113.9", rate: 20, from: t0 + 900, seconds: 120)
        let decisions = scenario.run()
        let ban = try #require(decisions.first)
        #expect(decisions.count == 1)
        #expect(ban.action == .ban)
        #expect(ban.ip == IPAddress("203.0.113.9"))
        #expect(ban.at - (t0 + 900) < 60, "banned \(ban.at - t0 - 900) s into the burst")
        #expect(ban.duration == 600)
        #expect(ban.offence == 1)
        #expect(ban.condition.hasPrefix("flood requests="), "\(ban.condition)")
        #expect(ban.baseline == GuardConfig().rules.flood.rate, "compared with the flood rule's rate")
    }

    @Test func busySiteAttackerAt40PercentIsBannedButTheBiggestClientIsNot() {
        // 200 clients at 1 req/s and one big legitimate client (an office behind NAT) at 4 req/s:
        // the site serves ~204 req/s. The attacker adds 136 req/s, 40% of all traffic, far below
        // 5 × the site's own mean, yet far above what any one client does.
        var scenario = Scenario()
        scenario.crowd(200, rate: 1, from: t0, seconds: 1500)
        scenario.steady("192.0.2.50", rate: 4, from: t0, seconds: 1500)
        scenario.steady("198.51.100.66", rate: 136, from: t0 + 1200, seconds: 60)
        let decisions = scenario.run()
        #expect(decisions.filter { $0.action == .ban }.map { $0.ip?.description } == ["198.51.100.66"])
        #expect(!decisions.contains { $0.ip == IPAddress("192.0.2.50") })
    }

    @Test func slowRampIsCaughtBeforeItBecomesAFlood() throws {
        var scenario = Scenario()
        scenario.crowd(40, rate: 0.5, from: t0, seconds: 3600)
        // +0.5 req/s every minute for 40 minutes, starting like everybody else.
        for minute in 0..<40 {
            scenario.steady("203.0.113.77", rate: 0.5 * Double(minute + 1), from: t0 + 600 + minute * 60, seconds: 60)
        }
        let ban = try #require(scenario.run().first { $0.action == .ban })
        #expect(ban.ip == IPAddress("203.0.113.77"))
        let minute = (ban.at - t0 - 600) / 60
        #expect(minute < 15, "the ramp reached \(0.5 * Double(minute + 1)) req/s before it was banned")
        #expect(ban.baseline <= 2.5, "its learned rate is capped at multiplier × typical")
    }

    @Test func errorSurgeScannerIsBannedAtTightenedThresholds() throws {
        // Twice the typical rate is nothing on its own …
        var quiet = Scenario()
        quiet.crowd(40, rate: 1, from: t0, seconds: 1200)
        quiet.steady("203.0.113.20", rate: 2, from: t0 + 900, seconds: 120)
        #expect(quiet.run().isEmpty)
        // … but with every request a 404 while the site errs 1% of the time, thresholds halve.
        var scanner = Scenario()
        scanner.crowd(40, rate: 1, from: t0, seconds: 1200)
        scanner.steady("203.0.113.20", rate: 2, from: t0 + 900, seconds: 120, errorShare: 1)
        let ban = try #require(scanner.run().first)
        #expect(ban.action == .ban)
        #expect(ban.ip == IPAddress("203.0.113.20"))
        #expect(ban.condition.hasSuffix("error_surge=100%"), "\(ban.condition)")
    }

    @Test func flashCrowdRaisesOneGlobalAlertAndBansNobody() {
        var scenario = Scenario()
        scenario.crowd(50, rate: 1, from: t0, seconds: 2400)
        scenario.crowd(400, rate: 1, from: t0 + 1800, seconds: 240, prefix: "10.1")
        let decisions = scenario.run()
        #expect(decisions.map(\.action) == [.globalAnomaly])
        #expect(decisions.first.map { $0.at - t0 - 1800 }.map { $0 < 60 } == true)
    }

    @Test func allowListedAddressIsNeverBanned() {
        var scenario = Scenario()
        scenario.crowd(20, rate: 0.5, from: t0, seconds: 1200)
        scenario.steady("127.0.0.1", rate: 100, from: t0 + 700, seconds: 300)
        #expect(scenario.run().filter { $0.action == .ban }.isEmpty)
    }

    @Test func offencesEscalateToPermanentWithExactUnbanTimes() {
        var scenario = Scenario()
        scenario.crowd(20, rate: 0.5, from: t0, seconds: 20000)
        // Four bursts, each after the previous ban has ended.
        for start in [1000, 2000, 4000, 12000] {
            scenario.steady("203.0.113.5", rate: 30, from: t0 + start, seconds: 30)
        }
        let decisions = scenario.run(tail: 100_000).filter { $0.ip == IPAddress("203.0.113.5") }
        #expect(decisions.map(\.action) == [.ban, .unban, .ban, .unban, .ban, .unban, .ban])
        #expect(decisions.filter { $0.action == .ban }.map(\.duration) == [600, 1800, 7200, nil])
        #expect(decisions.filter { $0.action == .ban }.map(\.offence) == [1, 2, 3, 4])
        for (ban, unban) in zip(decisions.filter { $0.action == .ban }, decisions.filter { $0.action == .unban }) {
            #expect(unban.at == ban.at + ban.duration!, "unbanned exactly when due")
        }
        #expect(decisions[5].nextDuration == .some(nil), "the unban says the next ban is permanent")
        #expect(decisions.last?.auditLine.hasSuffix("| duration=permanent") == true)
    }

    @Test func ipv6ClientsAreGroupedByTheirSlash64() throws {
        var scenario = Scenario()
        scenario.crowd(20, rate: 0.5, from: t0, seconds: 1200)
        // 16 addresses of one /64, each at twice the typical rate (unremarkable), together 32 times.
        for host in 1...16 {
            scenario.steady("2001:db8:1:2::\(String(host, radix: 16))", rate: 1, from: t0 + 900, seconds: 60)
        }
        let resolver = ClientResolver(ipv6Prefix: 64)
        var grouped = Scenario()
        for event in scenario.events {
            var copy = event
            copy.client = resolver.client(peer: event.client, forwardedFor: UnsafeBufferPointer(start: nil, count: 0))
            grouped.add(copy)
        }
        let bans = grouped.run().filter { $0.action == .ban }
        #expect(bans.map { $0.ip?.description } == ["2001:db8:1:2::"])
        #expect(scenario.run().filter { $0.action == .ban }.isEmpty, "ungrouped, no single address stands out")
    }

    @Test func allowListsMatchTheFullAddressAndProxiesAreNeverBanned() {
        var config = GuardConfig()
        config.allow.append(CIDR("2001:db8:7:7::10")!)
        config.protected = [CIDR("192.0.2.250/32")!]
        let resolver = ClientResolver(ipv6Prefix: 64)
        var scenario = Scenario()
        scenario.crowd(20, rate: 0.5, from: t0, seconds: 600)
        // The allow-listed host floods: never banned. Another host of its /64 floods: its group is.
        for (address, start) in [("2001:db8:7:7::10", t0 + 100), ("2001:db8:9:9::10", t0 + 100), ("2001:db8:9:9::11", t0 + 300)] {
            let peer = IPAddress(address)!
            for index in 0..<600 {
                let group = resolver.client(peer: peer, forwardedFor: UnsafeBufferPointer(start: nil, count: 0))
                scenario.add(ClientEvent(timestamp: Double(start) + Double(index) / 30, client: group, status: 200, address: peer))
            }
        }
        // A trusted proxy whose requests carry no forwarded address: many clients in one, never banned.
        scenario.steady("192.0.2.250", rate: 40, from: t0 + 200, seconds: 60)
        let bans = scenario.run(config).filter { $0.action == .ban }
        #expect(bans.map { $0.ip?.description } == ["2001:db8:9:9::"], "\(bans.map(\.summary))")
    }
}

extension Scenario {
    mutating func add(_ event: ClientEvent) { events.append(event) }
}

@Suite struct GuardBounds {
    @Test func spoofedSourceFloodStaysUnderTheTrackingCapAndAlerts() {
        var config = GuardConfig()
        config.maxTrackedIPs = 1000
        var engine = GuardEngine(config: config)
        var decisions: [GuardDecision] = []
        // 50,000 distinct sources in 50 seconds, one request each.
        for index in 0..<50_000 {
            let address = IPAddress(v4: 0x0A00_0000 + UInt32(index))
            engine.ingest(ClientEvent(timestamp: Double(Scenario.t0) + Double(index) / 1000, client: address, status: 200))
            decisions += engine.drain()
        }
        #expect(engine.trackedClients == 1000)
        #expect(engine.untrackedRequests == 49_000)
        let alerts = decisions.filter { $0.action == .trackingCap }
        #expect(alerts.count == 1, "one alert per cooldown, not one per request")
        #expect(alerts.first?.condition == "tracking 1000 addresses, the cap (max_tracked_ips)")
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
        let ip = IPAddress("198.51.100.1")!
        #expect(book.ban(ip, at: 0, reason: "a").duration == 600)
        _ = book.expire(at: 600)
        #expect(book.ban(ip, at: 1000, reason: "b").duration == 1800)
        _ = book.expire(at: 2800)
        #expect(book.nextLength(ip, at: 2800) == nil, "the third offence would be permanent")
        // Quiet for longer than forgive_after: back to the first length.
        #expect(book.nextLength(ip, at: 1000 + 3601) == 600)
        #expect(book.ban(ip, at: 1000 + 3601, reason: "c").offence == 1)
        #expect(book.unban(ip)?.reason == "c")
        #expect(!book.isBanned(ip))
        let manual = book.ban(ip, at: 9000, reason: "manual", length: .some(nil))
        #expect(manual.until == nil)
        #expect(book.expire(at: 1_000_000).isEmpty, "a permanent ban never expires")
    }
}
