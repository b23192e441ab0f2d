import Foundation
import Manifest
import Telemetry
import Yams
import Vocabulary

/// One evaluation case: a site's traffic described as classes of clients, each labelled legitimate
/// or attack, and the outcome it must have. Read from `scenario.yaml` and `expected.yaml` in one
/// folder (like CrowdSec's `tests/<case>/`), so adding a case needs no code.
public struct Scenario: Sendable {
    public var name: String
    public var description: String
    public var seed: UInt64
    /// The seeds the test suite runs (the scenario's own and another by default).
    public var testSeeds: [UInt64]
    public var duration: Double
    public var start: Int
    public var format: AccessLogFormat
    /// Legitimate traffic swings by this factor between night and day, over `wavePeriod` seconds.
    public var waveFactor: Double
    public var wavePeriod: Double
    public var classes: [TrafficClass]
    public var expected: Expectations
    /// How the log is written: request durations, duplicates, a clock step, rotation (`log:`).
    public var log: LogShape
    /// Who owns which addresses (`asn_table:`, a file beside the scenario): swarms take their
    /// networks from it, and the guard judges autonomous systems by it.
    public var networkOwners: NetworkOwners

    /// Reads a case folder; errors name the file and the field.
    public init(folder: String) throws {
        let scenarioFile = (folder as NSString).appendingPathComponent("scenario.yaml")
        let expectedFile = (folder as NSString).appendingPathComponent("expected.yaml")
        let description = try Self.decode(ScenarioFile.self, from: scenarioFile)
        let expected = try Self.decode(ExpectedFile.self, from: expectedFile)
        name = (folder as NSString).lastPathComponent
        self.description = description.description ?? ""
        seed = description.seed ?? 1
        testSeeds = description.test_seeds ?? [seed, seed &+ 1001]
        duration = try Self.seconds(description.duration, "duration", scenarioFile)
        start = description.start.flatMap { ISO8601.seconds($0) }.map { Int($0) } ?? 1_800_000_000
        format = try description.format.map {
            guard let format = AccessLogFormat(rawValue: $0) else { throw ScenarioError(file: scenarioFile, field: "format", message: "json or combined, got \($0)") }
            return format
        } ?? .json
        waveFactor = description.wave?.factor ?? 1
        wavePeriod = try description.wave?.period.map { try Self.seconds($0, "wave.period", scenarioFile) } ?? 86400
        log = try description.log.map { try Self.shape($0, scenarioFile) } ?? LogShape()
        if let table = description.asn_table {
            let path = (folder as NSString).appendingPathComponent(table)
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw ScenarioError(file: scenarioFile, field: "asn_table", message: "cannot read \(path)")
            }
            networkOwners = try NetworkOwners(text: text, file: path)
        } else {
            networkOwners = NetworkOwners()
        }
        classes = try description.classes.enumerated().map { index, spec in try TrafficClass(spec, file: scenarioFile, index: index) }
        let names = Set(classes.map(\.name))
        for name in (expected.attacks ?? [:]).keys where !names.contains(name) {
            throw ScenarioError(file: expectedFile, field: "attacks.\(name)", message: "no class of that name in scenario.yaml")
        }
        self.expected = Expectations(
            maxFalseBans: expected.legitimate?.max_false_bans ?? 0,
            attacks: try (expected.attacks ?? [:]).mapValues { target in
                Expectations.Attack(minRecall: target.min_recall ?? 1,
                                    maxTimeToBan: try target.max_time_to_ban.map { try Self.seconds($0, "max_time_to_ban", expectedFile) })
            },
            globalAlerts: expected.global_alerts.map { ($0.min ?? 0)...($0.max ?? Int.max) },
            maxAnsweredShare: expected.legitimate?.max_answered_share ?? 1,
            kept: try (expected.attacks ?? [:]).compactMapValues { target in
                try target.min_kept.map { (share: $0, after: try target.kept_after.map { try Self.seconds($0, "kept_after", expectedFile) } ?? 900) }
            })
    }

    /// What a case must show.
    public struct Expectations: Sendable {
        /// Legitimate clients banned, in every legitimate class together.
        public var maxFalseBans: Int
        public var attacks: [String: Attack]
        public var globalAlerts: ClosedRange<Int>?
        /// Legitimate requests a cohort verdict may slow or challenge, as a share of all of them.
        public var maxAnsweredShare: Double
        /// Per attack class judged as a cohort: the least share of its requests kept from the app,
        /// counted from `after` seconds past the class's start.
        public var kept: [String: (share: Double, after: Double)]

        public struct Attack: Sendable {
            public var minRecall: Double
            public var maxTimeToBan: Double?
        }
    }

    package static func decode<T: Decodable>(_ type: T.Type, from file: String) throws -> T {
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
            throw ScenarioError(file: file, field: "", message: "cannot read the file")
        }
        do {
            return try YAMLDecoder().decode(T.self, from: text)
        } catch let DecodingError.keyNotFound(key, context) {
            throw ScenarioError(file: file, field: (context.codingPath.map(\.stringValue) + [key.stringValue]).joined(separator: "."), message: "missing")
        } catch let DecodingError.typeMismatch(_, context), let DecodingError.valueNotFound(_, context), let DecodingError.dataCorrupted(context) {
            throw ScenarioError(file: file, field: context.codingPath.map(\.stringValue).joined(separator: "."), message: context.debugDescription)
        } catch {
            throw ScenarioError(file: file, field: "", message: "\(error)")
        }
    }

    static func shape(_ log: ScenarioFile.Log, _ file: String) throws -> LogShape {
        var shape = LogShape()
        shape.disorder = try log.disorder.map { try seconds($0, "log.disorder", file) } ?? 0
        if let share = log.duplicates {
            guard share.hasSuffix("%"), let percent = Double(share.dropLast()), (0...100).contains(percent) else {
                throw ScenarioError(file: file, field: "log.duplicates", message: "expected a share such as 0.5%, got \(share)")
            }
            shape.duplicates = percent / 100
        }
        if let step = log.clock_step {
            let back = step.by.hasPrefix("-")
            let by = try seconds(back ? String(step.by.dropFirst()) : step.by, "log.clock_step.by", file)
            shape.clockStep = (try seconds(step.at, "log.clock_step.at", file), back ? -by : by)
        }
        shape.rotateEvery = try log.rotate_every.map { try seconds($0, "log.rotate_every", file) } ?? 0
        return shape
    }

    static func seconds(_ text: String, _ field: String, _ file: String) throws -> Double {
        guard let duration = DurationText.parse(text) else {
            throw ScenarioError(file: file, field: field, message: "expected a duration such as 90s, 10m or 2h, got \(text)")
        }
        return duration.seconds
    }

    struct ScenarioFile: Decodable {
        var description: String?
        var seed: UInt64?
        var test_seeds: [UInt64]?
        var duration: String
        var start: String?
        var format: String?
        var wave: Wave?
        var log: Log?
        var asn_table: String?
        var classes: [TrafficClass.Spec]

        struct Log: Decodable {
            var disorder: String?
            var duplicates: String?
            var clock_step: Step?
            var rotate_every: String?

            struct Step: Decodable { var at: String; var by: String }
        }

        struct Wave: Decodable {
            var factor: Double
            var period: String?
        }
    }

    struct ExpectedFile: Decodable {
        var legitimate: Legitimate?
        var attacks: [String: Target]?
        var global_alerts: Alerts?

        struct Legitimate: Decodable {
            var max_false_bans: Int?
            var max_answered_share: Double?
        }
        struct Target: Decodable {
            var min_recall: Double?
            var max_time_to_ban: String?
            var min_kept: Double?
            var kept_after: String?
        }
        struct Alerts: Decodable {
            var min: Int?
            var max: Int?
        }
    }
}

/// A scenario file that cannot be used: which file, which field, what is wrong.
public struct ScenarioError: Error, CustomStringConvertible {
    public var file: String
    public var field: String
    public var message: String

    public var description: String { "\(file): \(field.isEmpty ? "" : "\(field): ")\(message)" }
}

/// One class of clients in a scenario: what they do, how many, when, and whether they attack.
public struct TrafficClass: Sendable {
    public enum Kind: String, Sendable, CaseIterable {
        /// Readers whose activity follows a Zipf curve (a few heavy users, many light ones).
        case zipf
        /// Browsers: a page with its assets in about 2 s, then reading.
        case browser
        /// Many people behind a few addresses (an office, a carrier's NAT).
        case nat
        /// A search crawler: steady, its own user agent.
        case crawler
        /// An API client polling one endpoint.
        case poller
        /// Requests as fast as `rate`, on pages or one static file.
        case flood
        /// POSTs to the login path.
        case bruteForce = "brute_force"
        /// Hundreds of distinct paths, mostly not found.
        case scanner
        /// Login attempts spread over many addresses.
        case credentialStuffing = "credential_stuffing"
        /// Pages at a steady pace without assets, for hours.
        case scraper
        /// Thousands of quiet addresses in many networks (`networks` /24s across `systems` autonomous
        /// systems of the scenario's table, and `ipv6_networks` /64s), each asking for a deep page
        /// every `every`, without assets, under browser agents.
        case swarm
    }

    public var name: String
    public var kind: Kind
    public var attack: Bool
    /// Clients (or addresses, for NAT and stuffing).
    public var clients: Int
    public var people: Int
    public var start: Double
    public var length: Double?
    public var arriveWithin: Double
    public var rate: ClosedRange<Double>
    public var every: ClosedRange<Double>
    public var assets: ClosedRange<Double>
    public var read: ClosedRange<Double>
    public var apiCalls: Int
    public var pagesPerSecond: Double
    public var target: String
    public var agent: String
    public var ipv6Rotation: Bool
    /// For a swarm: its /24s, the autonomous systems they lie in, and its IPv6 /64s.
    public var networks: Int
    public var systems: Int
    public var ipv6Networks: Int
    /// For legitimate browsers: the swarm whose networks (a quarter of them) they live in.
    public var inside: String?
    /// Expected to raise a global alert rather than bans (excluded from recall).
    public var globalSignal: Bool

    struct Spec: Decodable {
        var name: String
        var kind: String
        var attack: Bool?
        var clients: Int?
        var people: Int?
        var start: String?
        var `for`: String?
        var arrive_within: String?
        var rate: String?
        var every: String?
        var assets: String?
        var read: String?
        var api_calls: Int?
        var pages_per_second: Double?
        var target: String?
        var agent: String?
        var ipv6_rotation: Bool?
        var global_signal: Bool?
        var networks: Int?
        var systems: Int?
        var ipv6_networks: Int?
        var inside: String?
    }

    init(_ spec: Spec, file: String, index: Int) throws {
        let field = "classes[\(index)]"
        guard let kind = Kind(rawValue: spec.kind) else {
            throw ScenarioError(file: file, field: "\(field).kind", message: "one of \(Kind.allCases.map(\.rawValue).joined(separator: ", ")), got \(spec.kind)")
        }
        func range(_ text: String?, _ key: String, _ fallback: ClosedRange<Double>, seconds: Bool = false) throws -> ClosedRange<Double> {
            guard let text else { return fallback }
            var parts = text.split(separator: "-", maxSplits: 1).map { String($0).trimmingCharacters(in: .whitespaces) }
            // `10-60s`: the unit written once applies to both ends.
            if seconds, parts.count == 2, parts[0].allSatisfy({ $0.isNumber || $0 == "." }) {
                parts[0] += String(parts[1].drop { $0.isNumber || $0 == "." })
            }
            let values = try parts.map { part -> Double in
                if seconds { return try Scenario.seconds(part, "\(field).\(key)", file) }
                guard let value = Double(part.replacingOccurrences(of: "/s", with: "")) else {
                    throw ScenarioError(file: file, field: "\(field).\(key)", message: "expected a number or a range such as 20-500, got \(text)")
                }
                return value
            }
            guard let low = values.first, let high = values.last, low <= high, low >= 0 else {
                throw ScenarioError(file: file, field: "\(field).\(key)", message: "expected low-high with low ≤ high, got \(text)")
            }
            return low...high
        }
        name = spec.name
        self.kind = kind
        attack = spec.attack ?? [.flood, .bruteForce, .scanner, .credentialStuffing, .scraper, .swarm].contains(kind)
        clients = spec.clients ?? 1
        people = spec.people ?? 0
        start = try spec.start.map { try Scenario.seconds($0, "\(field).start", file) } ?? 0
        length = try spec.for.map { try Scenario.seconds($0, "\(field).for", file) }
        arriveWithin = try spec.arrive_within.map { try Scenario.seconds($0, "\(field).arrive_within", file) } ?? 0
        rate = try range(spec.rate, "rate", 1...1)
        every = try range(spec.every, "every", 1...5, seconds: true)
        assets = try range(spec.assets, "assets", 20...100)
        read = try range(spec.read, "read", 10...60, seconds: true)
        apiCalls = spec.api_calls ?? 0
        pagesPerSecond = spec.pages_per_second ?? 1
        target = spec.target ?? "pages"
        agent = spec.agent ?? "browser"
        ipv6Rotation = spec.ipv6_rotation ?? false
        networks = spec.networks ?? 1
        systems = spec.systems ?? 1
        ipv6Networks = spec.ipv6_networks ?? 0
        inside = spec.inside
        globalSignal = spec.global_signal ?? (kind == .credentialStuffing)
    }
}
