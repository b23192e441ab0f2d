import Telemetry
import Testing
import Vocabulary

@testable import Detection

/// The engine on what real logs hold (issue 26): lines out of order, lines from the past, offices
/// and pollers at their real rates, and bans that state their own rule's figures.
@Suite struct RealClocks {
    let t0 = Scenario.t0

    /// A warm quiet site: 30 readers at one page every 10 s for 40 minutes.
    func warmSite() -> GuardEngine {
        var engine = GuardEngine(config: GuardConfig())
        for second in 0..<2400 {
            for reader in 0..<3 {
                engine.ingest(ClientEvent(timestamp: Double(t0 + second), client: IPAddress(v4: 0x0A00_0000 + UInt32((second * 3 + reader) % 30)), status: 200))
            }
        }
        _ = engine.drain()
        #expect(engine.isWarm)
        return engine
    }

    @Test func aLineStampedBeforeTheSameClientsPreviousOneIsNoFlood() {
        var engine = GuardEngine(config: GuardConfig())
        let client = IPAddress("198.51.100.7")!
        engine.ingest(ClientEvent(timestamp: Double(t0 + 10), client: client, status: 200))
        engine.ingest(ClientEvent(timestamp: Double(t0), client: client, status: 200))
        #expect(engine.drain().filter { $0.action == .ban }.isEmpty)
    }

    @Test func aFloodArrivingOutOfOrderIsBannedAsInOrder() {
        var engine = GuardEngine(config: GuardConfig())
        let flooder = IPAddress("203.0.113.66")!
        var random = SeededRandom(seed: 9)
        // 100 requests a second for 10 s, each written up to 20 s after its stamp.
        var lines = (0..<1000).map { index in (stamp: Double(t0) + Double(index) / 100, written: Double(t0) + Double(index) / 100 + Double(random.next() % 2000) / 100) }
        lines.sort { $0.written < $1.written }
        var bans: [GuardDecision] = []
        for line in lines {
            engine.ingest(ClientEvent(timestamp: line.stamp, client: flooder, status: 200))
            bans += engine.drain().filter { $0.action == .ban }
        }
        #expect(bans.count == 1)
        #expect(bans.first?.rule == .flood)
    }

    @Test func linesBeyondTheHorizonCountInTotalsOnly() {
        var engine = GuardEngine(config: GuardConfig())
        engine.ingest(ClientEvent(timestamp: Double(t0 + 3600), client: IPAddress("192.0.2.1")!, status: 200))
        // A flood from an hour ago (a backlog, a skewed host): counted, never judged.
        for index in 0..<500 { engine.ingest(ClientEvent(timestamp: Double(t0) + Double(index) / 100, client: IPAddress("203.0.113.5")!, status: 200)) }
        #expect(engine.drain().filter { $0.action == .ban }.isEmpty)
        #expect(engine.clock.staleLines == 500)
    }

    /// An office behind one address reads pages with many browsers; a polling script calls a few
    /// endpoints in turn with one agent.
    @Test(arguments: [(rate: 1.25, agents: 40, paths: 5000), (rate: 2.4, agents: 3, paths: 5000), (rate: 1.5, agents: 1, paths: 3),
                      (rate: 2.0, agents: 1, paths: 6)])
    func officesAndPollersAreNeverBanned(rate: Double, agents: Int, paths: Int) {
        var engine = warmSite()
        let office = IPAddress("198.51.100.20")!
        var bans: [GuardDecision] = []
        for index in 0..<Int(3600 * rate) {
            let time = Double(t0 + 2400) + Double(index) / rate
            engine.ingest(ClientEvent(timestamp: time, client: office, status: 200, path: UInt32(index % paths + 1), agent: UInt32(index % agents)))
            if index % 3 == 0 { engine.ingest(ClientEvent(timestamp: time, client: IPAddress(v4: 0x0A00_0000 + UInt32(index % 30)), status: 200)) }
            bans += engine.drain().filter { $0.action == .ban }
        }
        #expect(bans.isEmpty, "\(bans.map(\.condition))")
        let explanation = engine.explain(office)
        #expect((explanation?.threshold ?? 0) >= GuardConfig().learnedFloor)
    }

    @Test func aClientAboveTheFloorAndItsExpectationIsBanned() {
        var engine = warmSite()
        let heavy = IPAddress("198.51.100.30")!
        var bans: [GuardDecision] = []
        for index in 0..<600 {
            engine.ingest(ClientEvent(timestamp: Double(t0 + 2400) + Double(index) / 4, client: heavy, status: 200, path: UInt32(index)))
            bans += engine.drain().filter { $0.action == .ban }
        }
        let ban = try? #require(bans.first)
        #expect(ban?.rule == .zScore || ban?.rule == .multiplier)
        #expect((ban?.rate ?? 0) >= GuardConfig().learnedFloor)
        #expect((ban?.rate ?? 0) > (ban?.baseline ?? .infinity), "a learned ban's rate is above its expectation")
        #expect(ban?.condition.contains("z=") == true && ban?.condition.contains("rate=") == true)
    }

    @Test func aFloodBanStatesItsBurstAndLimit() throws {
        var engine = GuardEngine(config: GuardConfig())
        for index in 0..<200 { engine.ingest(ClientEvent(timestamp: Double(t0) + Double(index) / 50, client: IPAddress("203.0.113.9")!, status: 200)) }
        let ban = try #require(engine.drain().first { $0.action == .ban })
        #expect(ban.rule == .flood)
        #expect(ban.condition.hasPrefix("flood requests="))
        #expect(ban.condition.hasSuffix("> burst 40 + 10/s"))
        #expect(ban.rate > ban.baseline, "the burst's rate (\(ban.rate)) is above the rule's (\(ban.baseline))")
        #expect(ban.baseline == 10)
    }
}
