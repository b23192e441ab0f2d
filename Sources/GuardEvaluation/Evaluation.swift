import EdgeRules
import Foundation
import Detection
import Telemetry
import TrafficScenarios
import Vocabulary

/// `guard evaluate`: a scenario's labelled traffic through the whole pipeline (log lines, parser,
/// engine), scored per class against the labels.
public struct Evaluation: Sendable {
    /// The outcome for one class of clients.
    public struct ClassResult: Sendable, Codable, Equatable {
        public var name: String
        public var attack: Bool
        public var globalSignal: Bool
        public var clients: Int
        public var banned: Int
        /// Ban decisions (a client banned again counts again).
        public var bans: Int
        /// Seconds from each banned attacker's first request to its ban.
        public var timeToBanP50: Double?
        public var timeToBanMax: Double?
        /// Rules that banned clients of this class, with counts.
        public var rules: [String: Int]
        /// Requests counted for the cohort verdicts (an attack's from its `kept_after`, a legitimate
        /// class's all), and how many of them were kept from the app (throttled, challenged, banned).
        public var counted = 0
        public var answered = 0

        enum CodingKeys: String, CodingKey {
            case name, attack, globalSignal = "global_signal", clients, banned, bans
            case timeToBanP50 = "time_to_ban_p50", timeToBanMax = "time_to_ban_max", rules, counted, answered
        }

        /// The share of counted requests kept from the app.
        public var answeredShare: Double { counted == 0 ? 0 : Double(answered) / Double(counted) }

        public var recall: Double? { attack && !globalSignal ? (clients == 0 ? 1 : Double(banned) / Double(clients)) : nil }
    }

    public struct Report: Sendable, Codable {
        public var scenario: String
        public var seed: UInt64
        public var lines: Int
        public var seconds: Int
        public var classes: [ClassResult]
        public var globalAlerts: [String]
        public var precision: Double
        public var recall: Double
        public var falseBans: Int
        /// Where the report misses the scenario's expected outcome (empty: it passes).
        public var failures: [String]
        /// Every client banned at least once, in address order.
        public var banned: [String] = []

        enum CodingKeys: String, CodingKey {
            case scenario, seed, lines, seconds, classes, globalAlerts = "global_alerts", precision, recall, falseBans = "false_bans", failures, banned
        }
    }

    public let scenario: Scenario
    public let config: GuardConfig
    public let classifier: RequestClassifier

    public init(scenario: Scenario, config: GuardConfig = GuardConfig(), classifier: RequestClassifier = RequestClassifier()) {
        self.scenario = scenario
        self.config = config
        self.classifier = classifier
    }

    /// Runs the scenario with `seed` (the scenario's own by default), its log written as `shape` says
    /// (the scenario's `log:` by default); `log` receives every line.
    public func run(seed: UInt64? = nil, shape: LogShape? = nil, log: ((String) -> Void)? = nil) -> Report {
        var generator = TrafficGenerator(scenario: scenario, seed: seed)
        var writer = LogWriter(shape: shape ?? scenario.log, start: Double(scenario.start), seed: seed ?? scenario.seed)
        var parser = GuardLogParser(format: scenario.format, resolver: ClientResolver(), classifier: classifier)
        var engine = GuardEngine(config: config, owners: scenario.networkOwners)
        // From when each class's requests count for the cohort verdicts.
        let countFrom = scenario.classes.map { Double(scenario.start) + $0.start + (scenario.expected.kept[$0.name]?.after ?? 0) }
        var counted = [Int](repeating: 0, count: scenario.classes.count), answered = counted
        var label: [IPAddress: Int] = [:]
        var firstSeen: [IPAddress: Double] = [:]
        var firstBan: [IPAddress: (at: Int, rule: String)] = [:]
        var banCounts = [Int](repeating: 0, count: scenario.classes.count)
        var alerts: [String] = []
        var lastTime = 0.0
        func record(_ decisions: [GuardDecision]) {
            for decision in decisions {
                switch decision.action {
                case .ban:
                    guard let ip = decision.ip, let index = label[ip] else { continue }
                    banCounts[index] += 1
                    if firstBan[ip] == nil { firstBan[ip] = (decision.at, decision.rule?.rawValue ?? "other") }
                case .globalAnomaly:
                    alerts.append("+\(decision.at - scenario.start)s \(decision.condition)")
                default: break
                }
            }
        }
        var finished = false
        while !finished {
            let generated = generator.next()
            finished = generated == nil
            for request in writer.write(generated) {
                var text = request.line(scenario.format)
                log?(text)
                lastTime = max(lastTime, request.time - Double(scenario.start))
                let event = text.withUTF8 { parser.parse($0) }
                guard let event else { continue }
                engine.ingest(event)
                if event.timestamp >= countFrom[request.label] {
                    counted[request.label] += 1
                    let cohortVerdict = engine.cohortVerdict(for: event.client).verdict
                    if engine.banBook.isBanned(event.client) || cohortVerdict != .pass { answered[request.label] += 1 }
                }
                if label[event.client] == nil {
                    label[event.client] = request.label
                    // On the engine's clock, as bans are (a log whose clock stepped back is shifted).
                    firstSeen[event.client] = event.timestamp + Double(engine.clock.shift)
                }
                if engine.hasDecisions { record(engine.drain()) }
            }
        }
        engine.advance(to: scenario.start + Int(lastTime) + 1)
        record(engine.drain())

        var results = scenario.classes.map {
            ClassResult(name: $0.name, attack: $0.attack, globalSignal: $0.globalSignal, clients: 0, banned: 0, bans: 0, rules: [:])
        }
        var delays = [[Double]](repeating: [], count: results.count)
        for (ip, index) in label {
            results[index].clients += 1
            guard let ban = firstBan[ip] else { continue }
            results[index].banned += 1
            results[index].rules[ban.rule, default: 0] += 1
            delays[index].append(Double(ban.at) - (firstSeen[ip] ?? 0).rounded(.down))
        }
        for index in results.indices {
            results[index].bans = banCounts[index]
            (results[index].counted, results[index].answered) = (counted[index], answered[index])
            let sorted = delays[index].sorted()
            if !sorted.isEmpty {
                results[index].timeToBanP50 = sorted[sorted.count / 2]
                results[index].timeToBanMax = sorted.last
            }
        }
        let attackers = results.filter { $0.attack && !$0.globalSignal }
        let truePositives = attackers.reduce(0) { $0 + $1.banned }
        let falseBans = results.filter { !$0.attack }.reduce(0) { $0 + $1.banned }
        let allBanned = results.reduce(0) { $0 + $1.banned }
        let attackerCount = attackers.reduce(0) { $0 + $1.clients }
        var report = Report(scenario: scenario.name, seed: seed ?? scenario.seed, lines: parser.lines, seconds: Int(lastTime),
                            classes: results, globalAlerts: alerts,
                            precision: allBanned == 0 ? 1 : Double(truePositives + results.filter { $0.globalSignal }.reduce(0) { $0 + $1.banned }) / Double(allBanned),
                            recall: attackerCount == 0 ? 1 : Double(truePositives) / Double(attackerCount), falseBans: falseBans, failures: [])
        report.failures = check(report)
        report.banned = firstBan.keys.sorted().map(\.description)
        return report
    }

    /// The report against `expected.yaml`.
    func check(_ report: Report) -> [String] {
        var failures: [String] = []
        let expected = scenario.expected
        if report.falseBans > expected.maxFalseBans {
            let who = report.classes.filter { !$0.attack && $0.banned > 0 }.map { "\($0.name) \($0.banned)" }.joined(separator: ", ")
            failures.append("\(report.falseBans) legitimate clients banned (at most \(expected.maxFalseBans)): \(who)")
        }
        for result in report.classes {
            guard let target = expected.attacks[result.name] else { continue }
            if let recall = result.recall, recall < target.minRecall {
                failures.append("\(result.name): \(result.banned) of \(result.clients) banned, recall \(String(format: "%.2f", recall)) < \(target.minRecall)")
            }
            if let limit = target.maxTimeToBan, let worst = result.timeToBanMax, worst > limit {
                failures.append("\(result.name): banned after \(Int(worst)) s at worst (at most \(Int(limit)) s)")
            }
        }
        let legitimate = report.classes.filter { !$0.attack }
        let legitimateShare = Double(legitimate.reduce(0) { $0 + $1.answered }) / Double(max(1, legitimate.reduce(0) { $0 + $1.counted }))
        if legitimateShare > expected.maxAnsweredShare {
            failures.append(String(format: "%.2f%% of legitimate requests throttled or challenged (at most %.2f%%)", legitimateShare * 100, expected.maxAnsweredShare * 100))
        }
        for result in report.classes {
            guard let target = expected.kept[result.name], result.answeredShare < target.share else { continue }
            failures.append(String(format: "%@: %.1f%% of its requests kept from the app after %d min (at least %.0f%%)",
                                   result.name, result.answeredShare * 100, Int(target.after / 60), target.share * 100))
        }
        if let range = expected.globalAlerts, !range.contains(report.globalAlerts.count) {
            failures.append("\(report.globalAlerts.count) global alerts (expected \(range.lowerBound)…\(range.upperBound == Int.max ? "" : String(range.upperBound)))")
        }
        return failures
    }
}

extension Evaluation.Report {
    /// The per-class table `guard evaluate` prints.
    public var table: String {
        func whole(_ value: Double?) -> String { value.map { String(Int($0)) } ?? "-" }
        var out = "scenario \(scenario) (seed \(seed)): \(lines) lines over \(seconds / 60) min\n"
        out += "class                  kind     clients  banned  false bans  recall  ban after p50/max (s)  kept  rules\n"
        for result in classes {
            let kind = result.attack ? (result.globalSignal ? "global" : "attack") : "legit"
            let recall = result.recall.map { String(format: "%.2f", $0) } ?? "-"
            let rules = result.rules.sorted { $0.key < $1.key }.map { "\($0.key)×\($0.value)" }.joined(separator: " ")
            let delay = "\(whole(result.timeToBanP50))/\(whole(result.timeToBanMax))"
            let falseBans = result.attack ? 0 : result.banned
            let name = result.name.padding(toLength: 22, withPad: " ", startingAt: 0)
            let figures = String(format: "%8d %7d %11d", result.clients, result.banned, falseBans)
            out += name + " " + kind.padding(toLength: 8, withPad: " ", startingAt: 0) + figures + " "
                + recall.leftPadded(7) + "  " + delay.leftPadded(21) + "  " + String(format: "%5.1f%%", result.answeredShare * 100) + "  " + rules + "\n"
        }
        out += String(format: "precision %.3f  recall %.3f  false bans %d  global alerts %d", precision, recall, falseBans, globalAlerts.count)
        for alert in globalAlerts { out += "\n  alert \(alert)" }
        out += failures.isEmpty ? "\nPASS \(scenario)" : failures.map { "\nFAIL \(scenario): \($0)" }.joined()
        return out
    }
}

extension String {
    func leftPadded(_ width: Int) -> String { String(repeating: " ", count: max(0, width - count)) + self }
}
