import Telemetry
import Vocabulary

/// Who is banned, until when, and how often each address has offended: escalating ban lengths
/// (10 min, 30 min, 2 h, permanent by default), forgiveness after a quiet period, unbans when due.
/// A ban holds one client or an address range (`BanTarget`); each escalates on its own record.
public struct BanBook: Sendable {
    public struct Ban: Sendable, Equatable {
        public var target: BanTarget
        public var since: Int
        /// Second the ban ends; nil when permanent.
        public var until: Int?
        /// 1 for the first offence.
        public var offence: Int
        public var reason: String

        public var duration: Int? { until.map { BanBook.seconds(from: since, to: $0) } }

        /// Why this ban cannot be taken as it is (from another edge, or a store another process
        /// wrote); nil when it can.
        public var problem: String? { BanFigures.problem(since: since, until: until, offence: offence) }

        /// The client's address, or the range's network.
        public var ip: IPAddress { target.address }

        public init(target: BanTarget, since: Int, until: Int?, offence: Int, reason: String) {
            self.target = target
            self.since = since
            self.until = until
            self.offence = offence
            self.reason = reason
        }

        /// A ban of one client.
        public init(ip: IPAddress, since: Int, until: Int?, offence: Int, reason: String) {
            self.init(target: BanTarget(client: ip), since: since, until: until, offence: offence, reason: reason)
        }
    }

    /// How often an address has offended, and when it last did (for escalation and forgiveness).
    public struct Offence: Sendable, Equatable {
        public var target: BanTarget
        public var count: Int
        public var last: Int

        public init(target: BanTarget, count: Int, last: Int) {
            (self.target, self.count, self.last) = (target, count, last)
        }

        /// The client's address, or the range's network.
        public var ip: IPAddress { target.address }

        public init(ip: IPAddress, count: Int, last: Int) { self.init(target: BanTarget(client: ip), count: count, last: last) }
    }

    struct Offender: Sendable, Equatable {
        var offences: Int
        var lastOffence: Int
    }

    public private(set) var schedule: [Int?]
    public private(set) var forgiveAfter: Int
    public private(set) var active: [BanTarget: Ban] = [:]
    private(set) var offenders: [BanTarget: Offender] = [:]
    /// The (family, prefix) of every range in force, so `isBanned` asks only lengths that exist.
    private var rangeShapes: [(v4: Bool, prefix: Int)] = []
    /// The earliest end of any active ban, so most calls to `expire` cost nothing.
    private var nextDue: Int?
    /// Bans and offence records refused because their figures are impossible (`Ban.problem`).
    public private(set) var refused = 0

    /// `to − from`, saturating: no figure a store or another edge hands over can trap the guard.
    static func seconds(from: Int, to: Int) -> Int {
        let (difference, overflow) = to.subtractingReportingOverflow(from)
        return overflow ? (to < from ? Int.min : Int.max) : difference
    }

    public init(schedule: [Int?], forgiveAfter: Int) {
        self.schedule = schedule.isEmpty ? [nil] : schedule
        self.forgiveAfter = forgiveAfter
    }

    /// New lengths and forgiveness (a reloaded configuration); bans in force keep their end.
    public mutating func reschedule(_ schedule: [Int?], forgiveAfter: Int) {
        self.schedule = schedule.isEmpty ? [nil] : schedule
        self.forgiveAfter = forgiveAfter
    }

    /// Whether a client (an address as the guard groups it) is banned, by itself or by a range.
    public func isBanned(_ client: IPAddress) -> Bool {
        guard !active.isEmpty else { return false }
        let target = BanTarget(client: client)
        return active[target] != nil || (!rangeShapes.isEmpty && range(holding: target) != nil)
    }

    /// The range in force that holds `target` (a client, or a range as wide or narrower), if any.
    public func range(holding target: BanTarget) -> Ban? {
        let length = target.range ?? (target.address.isV4 ? 32 : 128)
        return rangeShapes.lazy.filter { $0.v4 == target.address.isV4 && $0.prefix <= length }
            .compactMap { active[BanTarget(network: target.address, prefix: $0.prefix)] }.first
    }

    /// The ranges in force inside the range `target`, itself excluded: a wider ban takes their place,
    /// so ranges in force never overlap (an nftables interval set refuses overlapping elements).
    public func ranges(inside target: BanTarget) -> [Ban] {
        guard let range = target.range else { return [] }
        return active.values.filter { ban in
            ban.target != target && (ban.target.range.map { $0 >= range } ?? false) && target.covers(ban.ip)
        }.sorted { $0.target < $1.target }
    }

    /// Offences on record for `target` as of `second` (zero once forgiven).
    public func offences(_ target: BanTarget, at second: Int) -> Int {
        guard let offender = offenders[target], Self.seconds(from: offender.lastOffence, to: second) <= forgiveAfter else { return 0 }
        return offender.offences
    }

    /// The length the next ban of `target` would have; nil is permanent.
    public func nextLength(_ target: BanTarget, at second: Int) -> Int? {
        schedule[min(offences(target, at: second), schedule.count - 1)]
    }

    /// Bans `target` for its next offence; `length` overrides the schedule (a manual ban; `.some(nil)` is permanent).
    @discardableResult
    public mutating func ban(_ target: BanTarget, at second: Int, reason: String, length: Int?? = nil) -> Ban {
        let offence = offences(target, at: second) + 1
        offenders[target] = Offender(offences: offence, lastOffence: second)
        let chosen: Int? = length ?? schedule[min(offence - 1, schedule.count - 1)]
        let ban = Ban(target: target, since: second, until: chosen.map { second.addingReportingOverflow($0).overflow ? Int.max : second + $0 },
                      offence: offence, reason: reason)
        put(ban)
        return ban
    }

    /// Puts a ban in force (replacing the target's previous one).
    private mutating func put(_ ban: Ban) {
        let isNewRange = ban.target.isRange && active[ban.target] == nil
        active[ban.target] = ban
        if let until = ban.until { nextDue = min(nextDue ?? until, until) }
        if isNewRange { reshapeRanges() }
    }

    private mutating func reshapeRanges() {
        var shapes: [(v4: Bool, prefix: Int)] = []
        for target in active.keys {
            guard let prefix = target.range, !shapes.contains(where: { $0 == (target.address.isV4, prefix) }) else { continue }
            shapes.append((target.address.isV4, prefix))
        }
        rangeShapes = shapes
    }

    /// Takes a ban another edge decided as it was decided (its times and offence number), so the
    /// escalation follows the address across edges. Returns false when nothing changes: the same
    /// ban is already in force here, or it has ended (then only its offence is remembered).
    public mutating func adopt(_ ban: Ban, at second: Int) -> Bool {
        guard ban.problem == nil else { refused += 1; return false }
        let known = offenders[ban.target]
        offenders[ban.target] = Offender(offences: max(known?.offences ?? 0, ban.offence), lastOffence: max(known?.lastOffence ?? ban.since, ban.since))
        guard (ban.until ?? Int.max) > second, active[ban.target] != ban else { return false }
        put(ban)
        return true
    }

    /// Lifts a ban now (a manual unban); the offence count stays.
    @discardableResult
    public mutating func unban(_ target: BanTarget) -> Ban? {
        defer { if target.isRange { reshapeRanges() } }
        return active.removeValue(forKey: target)
    }

    /// Removes and returns every ban that has ended by `second`, earliest first.
    public mutating func expire(at second: Int) -> [Ban] {
        guard let next = nextDue, next <= second else { return [] }
        defer { nextDue = active.values.compactMap(\.until).min() }
        let due = active.values.filter { $0.until.map { $0 <= second } ?? false }
            .sorted { ($0.until!, $0.target) < ($1.until!, $1.target) }
        for ban in due { active[ban.target] = nil }
        if due.contains(where: \.target.isRange) { reshapeRanges() }
        return due
    }

    /// Forgets offences forgiven by `second` (no ban in force): the record of past offenders stays
    /// as long as it can matter, not for ever. Returns how many were forgotten.
    @discardableResult
    public mutating func forgetForgiven(at second: Int) -> Int {
        let before = offenders.count
        offenders = offenders.filter { target, offender in Self.seconds(from: offender.lastOffence, to: second) <= forgiveAfter || active[target] != nil }
        return before - offenders.count
    }

    /// How many addresses have an offence on record.
    public var offenderCount: Int { offenders.count }

    /// Restores state (from the store) as it was; a ban or offence record with impossible figures
    /// (a row another process wrote, or an old edge's adopted row) is refused and counted.
    public mutating func restore(bans: [Ban], offences: [Offence]) {
        // Widest ranges first, so a range inside one already restored is refused (the kernel holds
        // no overlapping ranges; a store another process wrote might).
        for ban in Self.widestFirst(bans) {
            guard ban.problem == nil else { refused += 1; continue }
            if ban.target.isRange {
                reshapeRanges()
                if let holder = range(holding: ban.target), holder.target != ban.target { refused += 1; continue }
            }
            active[ban.target] = ban
        }
        nextDue = active.values.compactMap(\.until).min()
        reshapeRanges()
        for offence in offences {
            guard BanFigures.plausibleTimes.contains(offence.last), BanFigures.offences.contains(offence.count) else { refused += 1; continue }
            offenders[offence.target] = Offender(offences: offence.count, lastOffence: offence.last)
        }
    }

    /// Ranges first, widest first, then clients: taken in this order, a range inside one already
    /// taken is found (and refused) by `range(holding:)`.
    public static func widestFirst(_ bans: [Ban]) -> [Ban] {
        bans.filter(\.target.isRange).sorted { $0.target.range! < $1.target.range! } + bans.filter { !$0.target.isRange }
    }

    /// The offence record of one client or range, for the store.
    public func offence(_ target: BanTarget) -> Offence? {
        offenders[target].map { Offence(target: target, count: $0.offences, last: $0.lastOffence) }
    }
}
