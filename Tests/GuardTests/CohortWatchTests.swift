import Detection
import EdgeRules
import Telemetry
import Testing
import Vocabulary

/// Cohorts judged on their shape: many quiet browser addresses fetching pages without assets,
/// against the site's own visitors; a person inside a flagged cohort is never challenged for it.
@Suite struct CohortJudgement {
    static let t0 = 1_800_000_000.0

    static func page(_ address: String, at time: Double, agent: AgentKind = .browser) -> ClientEvent {
        ClientEvent(timestamp: time, client: IPAddress(address)!, status: 200, kind: .page, agentKind: agent)
    }

    static func asset(_ address: String, at time: Double) -> ClientEvent {
        ClientEvent(timestamp: time, client: IPAddress(address)!, status: 200, kind: .asset, agentKind: .browser)
    }

    /// `people` readers (a page with assets) spread over the space and over 50 s, for the site's normal.
    static func people(_ engine: inout GuardEngine, count: Int, at time: Double) {
        for index in 0..<count {
            let address = "172.\(16 + index % 10).\(index / 10).9"
            engine.ingest(page(address, at: time + Double(index % 50)))
            engine.ingest(asset(address, at: time + Double(index % 50) + 0.1))
        }
    }

    @Test func aSwarmInOneNetworkIsChallengedAndItsNeighbourWhoFetchesAssetsIsNot() {
        var watch = GuardEngine(config: GuardConfig())
        Self.people(&watch, count: 200, at: Self.t0)
        for host in 1...8 { watch.ingest(Self.page("198.51.100.\(host)", at: Self.t0 + Double(host))) }
        watch.ingest(Self.page("198.51.100.200", at: Self.t0 + 10))
        watch.ingest(Self.asset("198.51.100.200", at: Self.t0 + 10.2))
        watch.ingest(Self.page("198.51.100.201", at: Self.t0 + 11, agent: .scripted))  // a git client
        watch.ingest(Self.page("203.0.113.7", at: Self.t0 + 12))  // one naked address elsewhere
        Self.people(&watch, count: 1, at: Self.t0 + 61)  // a minute on: the look
        #expect(watch.cohortVerdict(for: IPAddress("198.51.100.3")!).verdict == .challenge)
        let finding = watch.cohortVerdict(for: IPAddress("198.51.100.3")!).finding
        #expect(finding?.key.description == "198.51.100.0/24" && finding?.naked == 8 && finding?.addresses == 9, "\(String(describing: finding))")
        #expect(finding?.why.contains("8 of 9 browser addresses") == true)
        #expect(watch.explain(IPAddress("198.51.100.3")!)?.cohort?.hasPrefix("198.51.100.0/24: 8 of 9") == true, "--explain names the cohort")
        #expect(watch.explain(IPAddress("198.51.100.200")!)?.cohort == nil)
        #expect(watch.cohortVerdict(for: IPAddress("198.51.100.200")!).verdict == .pass, "the neighbour fetched assets")
        #expect(watch.cohortVerdict(for: IPAddress("198.51.100.201")!).verdict == .pass, "not a browser: never challenged")
        #expect(watch.cohortVerdict(for: IPAddress("203.0.113.7")!).verdict == .pass, "one quiet address is no cohort")
        let found = watch.drain().filter { $0.action == .cohort }
        #expect(found.map(\.auditLine).map { $0.contains("COHORT ip=198.51.100.0/24 | condition=challenged: 8 of 9 browser addresses") } == [true], "\(found.map(\.auditLine))")
        // Quiet for longer than the hold: released, and said so.
        Self.people(&watch, count: 1, at: Self.t0 + 61 + 1900)
        Self.people(&watch, count: 1, at: Self.t0 + 61 + 1961)
        #expect(watch.cohorts!.flagged.isEmpty)
        #expect(watch.drain().contains { $0.action == .cohort && $0.cohort?.description == "198.51.100.0/24" && $0.condition.hasPrefix("released") })
    }

    /// A site whose assets come from a CDN: every browser looks naked here, so naked is normal and
    /// no cohort is flagged for it.
    @Test func whereEveryBrowserIsNakedNothingIsFlagged() {
        var watch = GuardEngine(config: GuardConfig())
        for index in 0..<300 { watch.ingest(Self.page("172.16.\(index / 20).\(index % 20 + 1)", at: Self.t0 + Double(index) / 10)) }
        watch.ingest(Self.page("172.31.0.1", at: Self.t0 + 61))
        #expect(watch.cohorts!.normalShare ?? 0 > 0.9)
        #expect(watch.cohorts!.flagged.isEmpty)
    }

    @Test func loudAddressesAreLeftToThePerClientRules() {
        var watch = GuardEngine(config: GuardConfig())
        Self.people(&watch, count: 200, at: Self.t0)
        for host in 1...8 {
            for second in 0..<61 { watch.ingest(Self.page("198.51.100.\(host)", at: Self.t0 + Double(second))) }
        }
        Self.people(&watch, count: 1, at: Self.t0 + 61)
        #expect(watch.cohorts!.flagged.isEmpty, "8 addresses of 61 pages each are loud, not a swarm of quiet ones")
    }

    @Test func anAutonomousSystemIsACohortAcrossItsNetworks() throws {
        let owners = try NetworkOwners(text: "198.51.0.0\t198.51.255.255\t64500\tZZ\tEXAMPLE-NET\n", file: "asn.tsv")
        var watch = GuardEngine(config: GuardConfig(), owners: owners)
        Self.people(&watch, count: 200, at: Self.t0)
        // Ten naked addresses in ten /24s of one system: no /24 holds enough, the system does.
        for index in 0..<10 { watch.ingest(Self.page("198.51.\(index * 7).9", at: Self.t0 + Double(index))) }
        Self.people(&watch, count: 1, at: Self.t0 + 61)
        #expect(watch.cohortVerdict(for: IPAddress("198.51.14.9")!).finding?.key.description == "AS64500")
    }

    /// A /24 flagged for 15 minutes with no person in it is banned as a range, on the ban schedule;
    /// a /24 where one browser fetched its assets never is.
    @Test func aCohortWithNoPersonInItIsBannedAsARangeAndOneWithAPersonIsNot() {
        var engine = GuardEngine(config: GuardConfig())
        var decisions: [GuardDecision] = []
        for minute in 0..<18 {
            let time = Self.t0 + Double(minute * 60)
            Self.people(&engine, count: 200, at: time)
            for host in 1...6 {
                engine.ingest(Self.page("198.51.100.\(host)", at: time + 51 + Double(host)))
                engine.ingest(Self.page("203.0.113.\(host)", at: time + 51 + Double(host)))
            }
            engine.ingest(Self.page("203.0.113.99", at: time + 58))
            engine.ingest(Self.asset("203.0.113.99", at: time + 58.2))
            decisions += engine.drain()
        }
        let bans = decisions.filter { $0.rule == .cohort }
        #expect(bans.map { $0.target?.description } == ["198.51.100.0/24"], "\(bans.map(\.auditLine))")
        #expect(bans.first?.duration == 600 && bans.first?.offence == 1, "the first step of the schedule")
        #expect(bans.first?.auditLine.contains("BAN ip=198.51.100.0/24 | condition=cohort 198.51.100.0/24: 6 of 6 browser addresses") == true)
        #expect(engine.banBook.isBanned(IPAddress("198.51.100.200")!))
        #expect(!engine.banBook.isBanned(IPAddress("203.0.113.1")!), "a person lives in 203.0.113.0/24: challenged, never banned")
        #expect(engine.cohortVerdict(for: IPAddress("203.0.113.1")!).verdict == .challenge)
        // Ten quiet minutes more: the ban ends, and the evidence it was made on bans nothing again.
        for minute in 18..<40 {
            let time = Self.t0 + Double(minute * 60)
            Self.people(&engine, count: 200, at: time)
            decisions += engine.drain()
        }
        #expect(decisions.filter { $0.rule == .cohort }.count == 1, "no second ban without new requests")
        #expect(!engine.banBook.isBanned(IPAddress("198.51.100.200")!))
    }

    /// A reload (SIGHUP) changes the settings and keeps what was found; switched off, cohorts are gone.
    @Test func aReloadKeepsFindingsUnderNewSettingsAndCanSwitchCohortsOff() {
        var engine = GuardEngine(config: GuardConfig())
        Self.people(&engine, count: 200, at: Self.t0)
        for host in 1...8 { engine.ingest(Self.page("198.51.100.\(host)", at: Self.t0 + Double(host))) }
        Self.people(&engine, count: 1, at: Self.t0 + 61)
        var config = GuardConfig()
        config.cohorts?.hold = 7200
        _ = engine.reconfigure(config)
        #expect(engine.cohorts?.settings.hold == 7200 && engine.cohorts?.flagged.count == 1)
        config.cohorts = nil
        _ = engine.reconfigure(config)
        #expect(engine.cohorts == nil && engine.cohortVerdict(for: IPAddress("198.51.100.3")!).verdict == .pass)
    }
}
