import Telemetry
import Vocabulary

/// Judges groups of addresses instead of one (issue 30): scrapers of thousands of quiet residential
/// addresses fetch pages under browser agents without the assets a browser fetches. Each minute
/// (of log time) it looks at the browser-agent visitors of the last `window`, by /24, /16, /48 and
/// autonomous system, and flags a cohort where many quiet addresses fetch only pages, far more
/// often than the site's own visitors do. A flagged cohort's visitors that fetched no asset are
/// challenged; one that did is a person and passes, whatever its neighbours do.
public struct CohortWatch: Sendable {
    /// What one address did within the window.
    struct Visitor: Sendable {
        var firstSeen: Int
        var lastSeen: Int
        var pages: UInt32 = 0
        var assets: UInt32 = 0
        var browser = false
        var system: UInt32?

        /// Pages and not one asset: what a browser does not do.
        var isNaked: Bool { pages > 0 && assets == 0 }
    }

    /// A cohort found suspicious, with what showed it.
    public struct Finding: Sendable, Equatable {
        public var key: CohortKey
        /// First and latest look that found it.
        public var since: Int
        public var lastSeen: Int
        /// Browser-agent addresses in the window, those with pages and no asset, and their pages.
        public var addresses: Int
        public var naked: Int
        public var nakedPages: Int
        /// The share of naked addresses the site's own visitors show (learned).
        public var normalShare: Double

        public var share: Double { addresses == 0 ? 0 : Double(naked) / Double(addresses) }

        /// In words, for the audit log and `--explain`.
        public var why: String {
            "\(naked) of \(addresses) browser addresses fetched \(nakedPages) pages without one asset "
                + "(\(Int((share * 100).rounded()))% against the site's \(Int((normalShare * 100).rounded()))%)"
        }
    }

    public let settings: CohortSettings
    public let owners: NetworkOwners
    var visitors: [IPAddress: Visitor] = [:]
    public private(set) var flagged: [CohortKey: Finding] = [:]
    /// The share of naked addresses among browser visitors outside flagged cohorts (a slow average).
    public private(set) var normalShare: Double?
    private var lastLook: Int?
    /// Findings made and ended since the last `drain`, for the audit log.
    private var news: [(Finding, ended: Bool)] = []
    /// Looks taken so far (the engine acts on a look once).
    public private(set) var looks = 0

    public init(settings: CohortSettings = CohortSettings(), owners: NetworkOwners = NetworkOwners()) {
        self.settings = settings
        self.owners = owners
    }

    /// Counts one request; once a minute of log time has passed, looks at the cohorts again.
    public mutating func ingest(_ event: ClientEvent) {
        let second = Int(event.timestamp)
        if let last = lastLook {
            if second >= last + settings.every { look(at: second) }
        } else {
            lastLook = second
        }
        let client = event.client
        var visitor = visitors[client] ?? Visitor(firstSeen: second, lastSeen: second, system: owners.system(of: event.address))
        visitor.lastSeen = max(visitor.lastSeen, second)
        switch event.kind {
        case .asset: visitor.assets &+= 1
        case .page, .login: visitor.pages &+= 1
        }
        if event.agentKind == .browser { visitor.browser = true }
        visitors[client] = visitor
    }

    /// What a request from `client` meets from the cohorts: challenged when it fetched no asset and
    /// one of its cohorts is flagged (the finding says which), else passed.
    public func verdict(for client: IPAddress) -> (verdict: CohortVerdict, finding: Finding?) {
        guard !flagged.isEmpty, let visitor = visitors[client], visitor.browser, visitor.assets == 0 else { return (.pass, nil) }
        for key in keys(of: client, visitor) {
            if let finding = flagged[key] { return (.challenge, finding) }
        }
        return (.pass, nil)
    }

    /// Findings made (`ended` false) and ended since the last call.
    public mutating func drain() -> [(finding: Finding, ended: Bool)] {
        defer { news.removeAll() }
        return news.map { ($0.0, $0.ended) }
    }

    func keys(of client: IPAddress, _ visitor: Visitor) -> [CohortKey] {
        CohortKey.prefixes(of: client) + (visitor.system.map { [CohortKey(level: .system, value: UInt64($0))] } ?? [])
    }

    /// Forgets visitors gone for a whole window, counts each cohort's browser visitors and flags or
    /// releases cohorts.
    mutating func look(at second: Int) {
        lastLook = second
        looks += 1
        let horizon = second - settings.window
        visitors = visitors.filter { $0.value.lastSeen > horizon }
        struct Tally { var addresses = 0, naked = 0, nakedPages = 0 }
        var tallies: [CohortKey: Tally] = [:]
        var outside = (browsers: 0, naked: 0)
        for (client, visitor) in visitors where visitor.browser {
            let naked = visitor.isNaked && visitor.pages <= settings.quietPages
            let keys = keys(of: client, visitor)
            for key in keys {
                tallies[key, default: Tally()].addresses += 1
                if naked {
                    tallies[key, default: Tally()].naked += 1
                    tallies[key, default: Tally()].nakedPages += Int(visitor.pages)
                }
            }
            if !keys.contains(where: { flagged[$0] != nil }) {
                outside.browsers += 1
                if visitor.isNaked { outside.naked += 1 }
            }
        }
        if outside.browsers >= settings.learnFrom {
            let share = Double(outside.naked) / Double(outside.browsers)
            normalShare = normalShare.map { $0 + settings.learningRate * (share - $0) } ?? share
        }
        guard let normal = normalShare else { return }
        let threshold = max(settings.nakedShare, settings.normalMultiple * normal)
        for (key, tally) in tallies {
            guard tally.naked >= settings.minimum(key.level), Double(tally.naked) / Double(tally.addresses) >= threshold else { continue }
            let finding = Finding(key: key, since: flagged[key]?.since ?? second, lastSeen: second, addresses: tally.addresses,
                                  naked: tally.naked, nakedPages: tally.nakedPages, normalShare: normal)
            if flagged[key] == nil { news.append((finding, false)) }
            flagged[key] = finding
        }
        for (key, finding) in flagged where second - finding.lastSeen > settings.hold {
            flagged[key] = nil
            news.append((finding, true))
        }
    }
}

extension CohortWatch {
    /// The prefix cohorts the last look found that are ripe for a range ban: flagged for
    /// `banAfter` and no browser address in them that fetched an asset (no person among them).
    public func ripe(at second: Int) -> [Finding] {
        guard let banAfter = settings.banAfter else { return [] }
        return flagged.values.filter { finding in
            (finding.key.level == .v4Slash24 || finding.key.level == .v6Slash48) && finding.lastSeen == second
                && second - finding.since >= banAfter && finding.naked == finding.addresses
        }.sorted { $0.key < $1.key }
    }
}

/// What a request meets: passed to the app, slowed, asked to prove it is a browser, or dropped.
public enum CohortVerdict: String, Sendable, Codable, CaseIterable {
    case pass, throttle, challenge, ban
}
