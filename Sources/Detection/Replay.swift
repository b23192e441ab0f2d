import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Telemetry
import Vocabulary

/// `guard replay`: the whole pipeline over a finished log, with the log's own timestamps as the
/// clock. It never touches a firewall.
public struct Replay: Sendable {
    public struct Summary: Sendable, Equatable, Encodable {
        enum CodingKeys: String, CodingKey {
            case lines, badLines = "bad_lines", bans, seconds, format, recognised = "format_recognised"
            case lateLines = "late_lines", staleLines = "stale_lines", clockSteps = "clock_steps"
        }

        public var lines: Int
        public var badLines: Int
        public var bans: Int
        /// Log time covered, first line to last.
        public var seconds: Int
        /// The format lines were read in (given, or recognised with `auto`); nil (left out of the
        /// JSON) when no line was in one the guard reads.
        public var format: String?
        /// Whether `format` was recognised from the log rather than given.
        public var recognised: Bool
        /// Lines the engine's clock placed late or stale, and the log's clock stepping back (`LogClock`).
        public var lateLines: Int
        public var staleLines: Int
        public var clockSteps: Int
    }

    public var engine: GuardEngine
    public var parser: GuardLogParser
    private var first: Int?
    private var last: Int?
    private var bans = 0

    public init(config: GuardConfig, parser: GuardLogParser, owners: NetworkOwners = NetworkOwners()) {
        engine = GuardEngine(config: config, owners: owners)
        self.parser = parser
    }

    /// Feeds every line of `data` (the last may lack its newline); returns the decisions they caused, in order.
    public mutating func feed(_ data: Data) -> [GuardDecision] {
        var decisions: [GuardDecision] = []
        var batch: [ClientEvent] = []
        batch.reserveCapacity(Self.batchSize)
        func flush(_ replay: inout Replay) {
            batch.withUnsafeBufferPointer { replay.ingest($0) { decision, _ in decisions.append(decision) } }
            batch.removeAll(keepingCapacity: true)
        }
        data.withUnsafeBytes { raw in
            let bytes = raw.bindMemory(to: UInt8.self)
            let used = LineSplitter.lines(in: bytes) { line in
                guard let event = parser.parse(line) else { return }
                batch.append(event)
                if batch.count == Self.batchSize { flush(&self) }
            }
            if used < bytes.count, let event = parser.parse(UnsafeBufferPointer(rebasing: bytes[used...])) { batch.append(event) }
        }
        flush(&self)
        return decisions
    }

    /// Requests parsed ahead of judging, so the engine can be told what comes next (`ingest(_:decided:)`).
    public static let batchSize = 256

    /// The client `guard replay --explain` follows: decisions about it and recalcs come with its explanation.
    public var explained: IPAddress?

    /// Feeds requests already parsed, in order (a reader thread may parse while this judges), handing
    /// each decision to `decided` as it is made, with the followed client's explanation where there is one.
    public mutating func ingest(_ events: UnsafeBufferPointer<ClientEvent>, decided: (GuardDecision, GuardEngine.Explanation?) -> Void) {
        for position in events.indices {
            engine.prefetch(ahead: position, in: events)
            ingest(events[position], decided: decided)
        }
    }

    private mutating func ingest(_ event: ClientEvent, decided: (GuardDecision, GuardEngine.Explanation?) -> Void) {
        let second = Int(event.timestamp.rounded(.down))
        // Real logs are not in time order: the span runs from the earliest line, not the first.
        first = min(first ?? second, second)
        last = max(last ?? second, second)
        engine.ingest(event)
        guard engine.hasDecisions else { return }
        for decision in engine.drain() {
            if decision.action == .ban { bans += 1 }
            decided(decision, explanation(for: decision))
        }
    }

    /// Feeds one request and says what it meets: its client's ban, a cohort's answer, or passage,
    /// with the decision behind it.
    public mutating func judge(_ event: ClientEvent) -> RequestVerdict {
        ingest(event) { _, _ in }
        var verdict = RequestVerdict(at: ISO8601.format(Int(event.timestamp)), ip: event.client.description)
        if engine.banBook.isBanned(event.client) {
            verdict.verdict = .ban
            let ban = engine.banBook.active[BanTarget(client: event.client)] ?? engine.banBook.range(holding: BanTarget(client: event.client))
            verdict.why = ban.map { "\($0.target) banned: \($0.reason)" }
        } else {
            let (answer, finding) = engine.cohortVerdict(for: event.client)
            verdict.verdict = answer
            verdict.cohort = finding.map(RequestVerdict.Cohort.init)
            verdict.why = finding?.why
        }
        return verdict
    }

    /// The followed client's standing, for a decision about it or a recalc (nil otherwise).
    public func explanation(for decision: GuardDecision) -> GuardEngine.Explanation? {
        guard let explained, decision.ip == explained || decision.action == .baselineRecalc else { return nil }
        return engine.explain(explained)
    }

    /// Runs the timers to the end of the log plus `tail` seconds (so bans due then are lifted).
    public mutating func finish(tail: Int = 0) -> [GuardDecision] {
        guard let last else { return [] }
        engine.advance(to: last + tail)
        return engine.drain()
    }

    public var summary: Summary {
        Summary(lines: parser.lines, badLines: parser.badLines, bans: bans, seconds: (last ?? 0) - (first ?? 0), format: parser.format?.rawValue,
                recognised: parser.configured == .auto, lateLines: engine.clock.lateLines, staleLines: engine.clock.staleLines,
                clockSteps: engine.clock.steps)
    }
}
