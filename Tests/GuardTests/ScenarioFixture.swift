import Foundation
import Detection
import Telemetry
import Vocabulary

/// A detection case read from a folder: `scenario.json` (traffic and settings) and `expected.json`
/// (the decisions it must give). Times are seconds after `Scenario.t0`.
struct ScenarioFixture {
    var input: Input
    var expected: Expectation

    init(folder: URL) throws {
        input = try Self.decode(Input.self, from: folder.appendingPathComponent("scenario.json"))
        expected = try Self.decode(Expectation.self, from: folder.appendingPathComponent("expected.json"))
    }

    /// The traffic, the settings and how long the engine runs on after the last request.
    struct Input: Codable {
        var description: String
        var traffic: [Traffic]
        /// Seconds the clock runs on after the last request (to see bans expire).
        var tail: Int?
        /// Group IPv6 clients by this prefix, as the log parser does.
        var ipv6Prefix: Int?
        var settings: Settings?

        enum CodingKeys: String, CodingKey {
            case description, traffic, tail, settings
            case ipv6Prefix = "ipv6_prefix"
        }
    }

    /// One building block of traffic: exactly one of its fields is set.
    struct Traffic: Codable {
        var crowd: Crowd?
        var steady: Steady?
        var ramp: Ramp?
    }

    /// `clients` ordinary clients `<prefix>.x.y` (prefix 10.0 unless given), each at `rate`.
    struct Crowd: Codable {
        var clients: Int
        var rate: Double
        var from: Int
        var seconds: Int
        var prefix: String?
    }

    /// One client at `rate`; `error_share` of its requests are 404s. A burst is a short one.
    struct Steady: Codable {
        var client: String
        var rate: Double
        var from: Int
        var seconds: Int
        var errorShare: Double?

        enum CodingKeys: String, CodingKey {
            case client, rate, from, seconds
            case errorShare = "error_share"
        }
    }

    /// One client at `rate` for `step_seconds`, then `step` faster for each of `steps` periods in all.
    struct Ramp: Codable {
        var client: String
        var rate: Double
        var step: Double
        var from: Int
        var stepSeconds: Int
        var steps: Int

        enum CodingKeys: String, CodingKey {
            case client, rate, step, from, steps
            case stepSeconds = "step_seconds"
        }
    }

    /// Guard settings that replace the defaults (addresses and CIDR ranges).
    struct Settings: Codable {
        var allow: [String]?
        var protected: [String]?
    }

    /// What the decisions (baseline recalcs left out) must be. Every field given is checked.
    struct Expectation: Codable {
        /// All decisions, exactly and in order (`[]`: none at all).
        var decisions: [ExpectedDecision]?
        /// The first decisions; more may follow.
        var firstDecisions: [ExpectedDecision]?
        /// All bans, exactly and in order (`[]`: no bans).
        var bans: [ExpectedDecision]?
        /// The first bans; more may follow.
        var firstBans: [ExpectedDecision]?
        /// Per address: all decisions about it, exactly and in order.
        var clients: [String: [ExpectedDecision]]?
        /// Addresses no decision may name.
        var untouched: [String]?

        enum CodingKeys: String, CodingKey {
            case decisions, bans, clients, untouched
            case firstDecisions = "first_decisions"
            case firstBans = "first_bans"
        }

        var isEmpty: Bool {
            decisions == nil && firstDecisions == nil && bans == nil && firstBans == nil && clients == nil && untouched == nil
        }
    }

    /// One decision as expected: only the fields given are compared.
    struct ExpectedDecision: Codable {
        var action: String?
        var ip: String?
        /// The exact second.
        var at: Int?
        /// Strictly before this second.
        var before: Int?
        var duration: BanLength?
        var offence: Int?
        var conditionPrefix: String?
        var conditionSuffix: String?
        var baseline: Double?
        var baselineAtMost: Double?
        /// For unbans: the length the next ban would have.
        var nextDuration: BanLength?

        enum CodingKeys: String, CodingKey {
            case action, ip, at, before, duration, offence, baseline
            case conditionPrefix = "condition_prefix"
            case conditionSuffix = "condition_suffix"
            case baselineAtMost = "baseline_at_most"
            case nextDuration = "next_duration"
        }
    }

    /// A ban length: seconds, or `"permanent"`.
    enum BanLength: Codable, Equatable, CustomStringConvertible {
        case seconds(Int)
        case permanent

        init(_ duration: Int?) { self = duration.map(BanLength.seconds) ?? .permanent }

        init(from decoder: Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let seconds = try? container.decode(Int.self) {
                self = .seconds(seconds)
            } else if try container.decode(String.self) == "permanent" {
                self = .permanent
            } else {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "a ban length is seconds or \"permanent\"")
            }
        }

        func encode(to encoder: Encoder) throws {
            var container = encoder.singleValueContainer()
            switch self {
            case .seconds(let seconds): try container.encode(seconds)
            case .permanent: try container.encode("permanent")
            }
        }

        var description: String {
            switch self {
            case .seconds(let seconds): "\(seconds)s"
            case .permanent: "permanent"
            }
        }
    }

    struct Invalid: Error, CustomStringConvertible {
        var description: String
    }

    /// Decodes a fixture file, refusing keys the types do not know (a misspelt check must not pass unseen).
    static func decode<T: Codable>(_ type: T.Type, from file: URL) throws -> T {
        let data = try Data(contentsOf: file)
        let value: T
        do { value = try JSONDecoder().decode(T.self, from: data) } catch { throw Invalid(description: "\(file.lastPathComponent): \(error)") }
        let unknown = unknownKeys(try JSONSerialization.jsonObject(with: data),
                                  known: try JSONSerialization.jsonObject(with: JSONEncoder().encode(value)), path: "")
        guard unknown.isEmpty else { throw Invalid(description: "\(file.lastPathComponent): unknown keys \(unknown.joined(separator: ", "))") }
        return value
    }

    private static func unknownKeys(_ given: Any, known: Any, path: String) -> [String] {
        switch (given, known) {
        case let (object as [String: Any], knownObject as [String: Any]):
            return object.keys.sorted().flatMap { key in
                knownObject[key].map { unknownKeys(object[key]!, known: $0, path: "\(path).\(key)") } ?? ["\(path).\(key)"]
            }
        case let (array as [Any], knownArray as [Any]):
            return zip(array, knownArray).enumerated().flatMap { unknownKeys($1.0, known: $1.1, path: "\(path)[\($0)]") }
        default:
            return []
        }
    }

    // MARK: Running

    /// The engine's decisions over the case's traffic, as `Scenario.run` gives them.
    func run() throws -> [GuardDecision] {
        var scenario = Scenario()
        for block in input.traffic {
            switch (block.crowd, block.steady, block.ramp) {
            case (let crowd?, nil, nil):
                scenario.crowd(crowd.clients, rate: crowd.rate, from: Scenario.t0 + crowd.from, seconds: crowd.seconds,
                               prefix: crowd.prefix ?? Scenario.crowdPrefix)
            case (nil, let steady?, nil):
                _ = try Self.address(steady.client)
                scenario.steady(steady.client, rate: steady.rate, from: Scenario.t0 + steady.from, seconds: steady.seconds,
                                errorShare: steady.errorShare ?? 0)
            case (nil, nil, let ramp?):
                _ = try Self.address(ramp.client)
                for index in 0..<ramp.steps {
                    scenario.steady(ramp.client, rate: ramp.rate + Double(index) * ramp.step,
                                    from: Scenario.t0 + ramp.from + index * ramp.stepSeconds, seconds: ramp.stepSeconds)
                }
            default:
                throw Invalid(description: "scenario.json: a traffic block has exactly one of crowd, steady, ramp")
            }
        }
        if let prefix = input.ipv6Prefix {
            let resolver = ClientResolver(ipv6Prefix: prefix)
            for index in scenario.events.indices {
                scenario.events[index].client = resolver.client(peer: scenario.events[index].address,
                                                                forwardedFor: UnsafeBufferPointer(start: nil, count: 0))
            }
        }
        var config = GuardConfig()
        if let allow = input.settings?.allow { config.allow = try allow.map(Self.range) }
        if let protected = input.settings?.protected { config.protected = try protected.map(Self.range) }
        return scenario.run(config, tail: input.tail ?? 0)
    }

    private static func address(_ text: String) throws -> IPAddress {
        guard let address = IPAddress(text) else { throw Invalid(description: "not an IP address: \(text)") }
        return address
    }

    private static func range(_ text: String) throws -> CIDR {
        guard let range = CIDR(text) else { throw Invalid(description: "not an address or CIDR range: \(text)") }
        return range
    }

    // MARK: Checking

    /// Every way the decisions miss the expectation, each with the expected and the actual lists.
    func failures(_ decisions: [GuardDecision]) throws -> [String] {
        guard !expected.isEmpty else { throw Invalid(description: "expected.json checks nothing") }
        let bans = decisions.filter { $0.action == .ban }
        var failures: [String] = []
        func compare(_ name: String, _ expected: [ExpectedDecision]?, _ actual: [GuardDecision], exactly: Bool) throws {
            guard let expected else { return }
            var problems: [String] = []
            if exactly ? actual.count != expected.count : actual.count < expected.count {
                problems.append("\(actual.count) decisions, expected \(exactly ? "" : "at least ")\(expected.count)")
            }
            for (index, (want, got)) in zip(expected, actual).enumerated() {
                problems += try Self.mismatches(want, got).map { "#\(index + 1): \($0)" }
            }
            guard !problems.isEmpty else { return }
            let lines = try expected.map { String(decoding: try Self.encoder.encode($0), as: UTF8.self) }
            failures.append("""
                \(name):
                  expected\(exactly ? "" : " (first)"):
                \(Self.list(lines))
                  actual:
                \(Self.list(actual.map(\.fixtureLine)))
                  \(problems.joined(separator: "\n  "))
                """)
        }
        try compare("decisions", expected.decisions, decisions, exactly: true)
        try compare("first_decisions", expected.firstDecisions, decisions, exactly: false)
        try compare("bans", expected.bans, bans, exactly: true)
        try compare("first_bans", expected.firstBans, bans, exactly: false)
        for (client, list) in (expected.clients ?? [:]).sorted(by: { $0.key < $1.key }) {
            let address = try Self.address(client)
            try compare("clients \(client)", list, decisions.filter { $0.ip == address }, exactly: true)
        }
        for client in expected.untouched ?? [] {
            let address = try Self.address(client)
            let named = decisions.filter { $0.ip == address }
            if !named.isEmpty { failures.append("untouched \(client), yet:\n\(Self.list(named.map(\.fixtureLine)))") }
        }
        return failures + Self.unbansNotDue(decisions)
    }

    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return encoder
    }()

    private static func list(_ lines: [String]) -> String {
        let shown = lines.prefix(20).map { "    \($0)" } + (lines.count > 20 ? ["    … \(lines.count - 20) more"] : [])
        return shown.isEmpty ? "    (none)" : shown.joined(separator: "\n")
    }

    private static func mismatches(_ want: ExpectedDecision, _ got: GuardDecision) throws -> [String] {
        var problems: [String] = []
        if let action = want.action {
            guard GuardDecision.Action(rawValue: action) != nil else { throw Invalid(description: "unknown action \(action)") }
            if action != got.action.rawValue { problems.append("action \(got.action.rawValue), expected \(action)") }
        }
        if let ip = want.ip, try got.ip != address(ip) { problems.append("ip \(got.ip.map(\.description) ?? "-"), expected \(ip)") }
        let at = got.at - Scenario.t0
        if let second = want.at, at != second { problems.append("at +\(at)s, expected +\(second)s") }
        if let before = want.before, at >= before { problems.append("at +\(at)s, expected before +\(before)s") }
        if let duration = want.duration, BanLength(got.duration) != duration {
            problems.append("duration \(BanLength(got.duration)), expected \(duration)")
        }
        if let offence = want.offence, got.offence != offence { problems.append("offence \(got.offence), expected \(offence)") }
        if let prefix = want.conditionPrefix, !got.condition.hasPrefix(prefix) {
            problems.append("condition \"\(got.condition)\" does not start with \"\(prefix)\"")
        }
        if let suffix = want.conditionSuffix, !got.condition.hasSuffix(suffix) {
            problems.append("condition \"\(got.condition)\" does not end with \"\(suffix)\"")
        }
        if let baseline = want.baseline, got.baseline != baseline { problems.append("baseline \(got.baseline), expected \(baseline)") }
        if let most = want.baselineAtMost, got.baseline > most { problems.append("baseline \(got.baseline), expected at most \(most)") }
        if let next = want.nextDuration, got.nextDuration.map({ BanLength($0) }) != next {
            problems.append("next duration \(got.nextDuration.map { "\(BanLength($0))" } ?? "unset"), expected \(next)")
        }
        return problems
    }

    /// Checked in every case: an unban comes exactly when its ban was due, and never for a permanent ban.
    private static func unbansNotDue(_ decisions: [GuardDecision]) -> [String] {
        var bans: [IPAddress: GuardDecision] = [:]
        var failures: [String] = []
        for decision in decisions {
            guard let ip = decision.ip else { continue }
            if decision.action == .ban { bans[ip] = decision }
            if decision.action == .unban, let ban = bans[ip], ban.duration.map({ ban.at + $0 }) != decision.at {
                failures.append("unban not when due:\n\(list([ban.fixtureLine, decision.fixtureLine]))")
            }
        }
        return failures
    }
}

extension GuardDecision {
    /// The decision on one line, its time in seconds after `Scenario.t0`.
    var fixtureLine: String {
        var line = "\(action.rawValue) \(ip.map(\.description) ?? "-") at +\(at - Scenario.t0)s"
        if action == .ban { line += " duration=\(ScenarioFixture.BanLength(duration)) offence=\(offence)" }
        if let next = nextDuration { line += " next_duration=\(ScenarioFixture.BanLength(next))" }
        return line + " condition=\"\(condition)\" rate=\(rate) baseline=\(baseline)"
    }
}
