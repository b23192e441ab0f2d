import EdgeRules
import Telemetry
import Vocabulary

/// Judges groups of addresses instead of one (issue 30): scrapers of thousands of quiet residential
/// addresses fetch pages under browser agents without the assets a browser fetches. Each minute
/// (of log time) it looks at the browser-agent visitors of the last `window`, by /24, /16, /48 and
/// autonomous system, and flags a cohort where many quiet addresses fetch only pages, far more
/// often than the site's own visitors do. A flagged cohort's visitors that fetched no asset are
/// challenged; one that did is a person and passes, whatever its neighbours do.
public struct CohortWatch: Sendable {
    /// What one client did since the guard began tracking it, kept in the engine's own record of
    /// the client (no second lookup per line).
    public struct Visitor: Sendable, Equatable {
        public var pages: UInt32 = 0
        public var assets: UInt32 = 0
        public var browser = false
        /// Its autonomous system, looked up once.
        public var system: UInt32?

        public init(system: UInt32? = nil) { self.system = system }

        /// Pages and not one asset: what a browser does not do.
        public var isNaked: Bool { pages > 0 && assets == 0 }

        /// Its pages and assets forgotten (its cohort was banned on them), its kind kept.
        public mutating func spend() { (pages, assets) = (0, 0) }

        public mutating func count(_ event: ClientEvent) {
            switch event.kind {
            case .asset: assets &+= 1
            case .page, .login: pages &+= 1
            }
            if event.agentKind == .browser { browser = true }
        }
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

        public init(key: CohortKey, since: Int, lastSeen: Int, addresses: Int, naked: Int, nakedPages: Int, normalShare: Double) {
            (self.key, self.since, self.lastSeen, self.addresses) = (key, since, lastSeen, addresses)
            (self.naked, self.nakedPages, self.normalShare) = (naked, nakedPages, normalShare)
        }

        public var share: Double { addresses == 0 ? 0 : Double(naked) / Double(addresses) }

        /// In words, for the audit log and `--explain`.
        public var why: String {
            "\(naked) of \(addresses) browser addresses fetched \(nakedPages) pages without one asset "
                + "(\(Int((share * 100).rounded()))% against the site's \(Int((normalShare * 100).rounded()))%)"
        }
    }

    public internal(set) var settings: CohortSettings
    public let owners: NetworkOwners
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

    /// Drops a finding without saying so (a ban of the cohort says it).
    mutating func forget(_ key: CohortKey) { flagged[key] = nil }

    /// Whether a minute of log time has passed since the last look (or none was taken).
    public func isDue(at second: Int) -> Bool { lastLook.map { second >= $0 + settings.every } ?? true }

    /// What a request from `client` meets from the cohorts: challenged when it fetched no asset and
    /// one of its cohorts is flagged (the finding says which), else passed.
    public func verdict(for client: IPAddress, _ visitor: Visitor) -> (verdict: CohortVerdict, finding: Finding?) {
        guard !flagged.isEmpty, visitor.browser, visitor.assets == 0 else { return (.pass, nil) }
        var found: Finding?
        forEachKey(of: client, visitor) { key in if found == nil { found = flagged[key] } }
        return found.map { (.challenge, $0) } ?? (.pass, nil)
    }

    /// Findings made (`ended` false) and ended since the last call.
    public mutating func drain() -> [(finding: Finding, ended: Bool)] {
        defer { news.removeAll() }
        return news.map { ($0.0, $0.ended) }
    }

    /// Each cohort of a client, without building an array (a look runs this for every visitor).
    func forEachKey(of client: IPAddress, _ visitor: Visitor, _ body: (CohortKey) -> Void) {
        if client.isV4 {
            body(CohortKey(level: .v4Slash24, value: client.low >> 8))
            body(CohortKey(level: .v4Slash16, value: client.low >> 16))
        } else {
            body(CohortKey(level: .v6Slash48, value: client.high >> 16))
        }
        if let system = visitor.system { body(CohortKey(level: .system, value: UInt64(system))) }
    }

    /// Counts each cohort's browser visitors (those seen within the window: the caller's choice)
    /// and flags or releases cohorts.
    public mutating func look(at second: Int, visitors: [(client: IPAddress, visitor: Visitor)]) {
        lastLook = second
        looks += 1
        struct Tally {
            var addresses = 0, naked = 0, nakedPages = 0

            mutating func add(naked isNaked: Bool, pages: UInt32) {
                addresses += 1
                if isNaked { (naked, nakedPages) = (naked + 1, nakedPages + Int(pages)) }
            }
        }
        var tallies: [CohortKey: Tally] = [:]
        tallies.reserveCapacity(visitors.count * 2)
        var outside = (browsers: 0, naked: 0)
        for (client, visitor) in visitors where visitor.browser {
            let naked = visitor.isNaked && visitor.pages <= settings.quietPages
            var inFlagged = false
            forEachKey(of: client, visitor) { key in
                tallies[key, default: Tally()].add(naked: naked, pages: visitor.pages)
                if !flagged.isEmpty, flagged[key] != nil { inFlagged = true }
            }
            if !inFlagged {
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
