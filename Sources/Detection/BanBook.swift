import Telemetry
import Vocabulary

/// Who is banned, until when, and how often each address has offended: escalating ban lengths
/// (10 min, 30 min, 2 h, permanent by default), forgiveness after a quiet period, unbans when due.
public struct BanBook: Sendable {
    public struct Ban: Sendable, Equatable {
        public var ip: IPAddress
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

        public init(ip: IPAddress, since: Int, until: Int?, offence: Int, reason: String) {
            self.ip = ip
            self.since = since
            self.until = until
            self.offence = offence
            self.reason = reason
        }
    }

    /// How often an address has offended, and when it last did (for escalation and forgiveness).
    public struct Offence: Sendable, Equatable {
        public var ip: IPAddress
        public var count: Int
        public var last: Int

        public init(ip: IPAddress, count: Int, last: Int) {
            (self.ip, self.count, self.last) = (ip, count, last)
        }
    }

    struct Offender: Sendable, Equatable {
        var offences: Int
        var lastOffence: Int
    }

    public private(set) var schedule: [Int?]
    public private(set) var forgiveAfter: Int
    public private(set) var active: [IPAddress: Ban] = [:]
    private(set) var offenders: [IPAddress: Offender] = [:]
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

    public func isBanned(_ ip: IPAddress) -> Bool { !active.isEmpty && active[ip] != nil }

    /// Offences on record for `ip` as of `second` (zero once forgiven).
    public func offences(_ ip: IPAddress, at second: Int) -> Int {
        guard let offender = offenders[ip], Self.seconds(from: offender.lastOffence, to: second) <= forgiveAfter else { return 0 }
        return offender.offences
    }

    /// The length the next ban of `ip` would have; nil is permanent.
    public func nextLength(_ ip: IPAddress, at second: Int) -> Int? {
        schedule[min(offences(ip, at: second), schedule.count - 1)]
    }

    /// Bans `ip` for its next offence; `length` overrides the schedule (a manual ban; `.some(nil)` is permanent).
    @discardableResult
    public mutating func ban(_ ip: IPAddress, at second: Int, reason: String, length: Int?? = nil) -> Ban {
        let offence = offences(ip, at: second) + 1
        offenders[ip] = Offender(offences: offence, lastOffence: second)
        let chosen: Int? = length ?? schedule[min(offence - 1, schedule.count - 1)]
        let ban = Ban(ip: ip, since: second, until: chosen.map { second.addingReportingOverflow($0).overflow ? Int.max : second + $0 },
                      offence: offence, reason: reason)
        active[ip] = ban
        if let until = ban.until { nextDue = min(nextDue ?? until, until) }
        return ban
    }

    /// Takes a ban another edge decided as it was decided (its times and offence number), so the
    /// escalation follows the address across edges. Returns false when nothing changes: the same
    /// ban is already in force here, or it has ended (then only its offence is remembered).
    public mutating func adopt(_ ban: Ban, at second: Int) -> Bool {
        guard ban.problem == nil else { refused += 1; return false }
        let known = offenders[ban.ip]
        offenders[ban.ip] = Offender(offences: max(known?.offences ?? 0, ban.offence), lastOffence: max(known?.lastOffence ?? ban.since, ban.since))
        guard (ban.until ?? Int.max) > second, active[ban.ip] != ban else { return false }
        active[ban.ip] = ban
        if let until = ban.until { nextDue = min(nextDue ?? until, until) }
        return true
    }

    /// Lifts a ban now (a manual unban); the offence count stays.
    @discardableResult
    public mutating func unban(_ ip: IPAddress) -> Ban? {
        active.removeValue(forKey: ip)
    }

    /// Removes and returns every ban that has ended by `second`, earliest first.
    public mutating func expire(at second: Int) -> [Ban] {
        guard let next = nextDue, next <= second else { return [] }
        defer { nextDue = active.values.compactMap(\.until).min() }
        let due = active.values.filter { $0.until.map { $0 <= second } ?? false }
            .sorted { ($0.until!, $0.ip) < ($1.until!, $1.ip) }
        for ban in due { active[ban.ip] = nil }
        return due
    }

    /// Forgets offences forgiven by `second` (no ban in force): the record of past offenders stays
    /// as long as it can matter, not for ever. Returns how many were forgotten.
    @discardableResult
    public mutating func forgetForgiven(at second: Int) -> Int {
        let before = offenders.count
        offenders = offenders.filter { ip, offender in Self.seconds(from: offender.lastOffence, to: second) <= forgiveAfter || active[ip] != nil }
        return before - offenders.count
    }

    /// How many addresses have an offence on record.
    public var offenderCount: Int { offenders.count }

    /// Restores state (from the store) as it was; a ban or offence record with impossible figures
    /// (a row another process wrote, or an old edge's adopted row) is refused and counted.
    public mutating func restore(bans: [Ban], offences: [Offence]) {
        for ban in bans {
            guard ban.problem == nil else { refused += 1; continue }
            active[ban.ip] = ban
        }
        nextDue = active.values.compactMap(\.until).min()
        for offence in offences {
            guard BanFigures.plausibleTimes.contains(offence.last), BanFigures.offences.contains(offence.count) else { refused += 1; continue }
            offenders[offence.ip] = Offender(offences: offence.count, lastOffence: offence.last)
        }
    }

    /// The offence record of one address, for the store.
    public func offence(_ ip: IPAddress) -> Offence? {
        offenders[ip].map { Offence(ip: ip, count: $0.offences, last: $0.lastOffence) }
    }
}
