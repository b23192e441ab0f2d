import ArgumentParser
import Deploy
import Manifest
import Foundation
import Detection
import GuardEvaluation
import GuardService
import TrafficScenarios
import Vocabulary

extension GuardCommand {
    struct Replay: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "replay",
            abstract: "Replay a log with its own clock through the whole detection pipeline; never touches the firewall.",
            discussion: """
                Uses the manifest's guard settings when the manifest exists, the built-in defaults otherwise. The summary says \
                the format read; exit status 1 when more than half the lines do not parse in it.
                """)
        @OptionGroup var manifest: ManifestOption
        @Option(help: "Access log to replay.") var log: String
        @Option(help: "auto, json, combined, combined_xff or common (default: the manifest's guard.log_format; without a manifest, auto: recognised from the first line in one of them).")
        var format: String?
        @Flag(help: "One JSON object per decision, then a summary object (with --explain: one per row).") var json = false
        @Flag(help: "Also print each baseline recalculation (left out by default: they are most of the lines).") var recalcs = false
        @Option(help: "Follow one client: its rate, expectation, z and rule levels at every recalc, and why it was or was not banned.")
        var explain: String?
        @Flag(help: "One JSON object per input line, in order: what the request would have met (pass, throttle, challenge, ban) and why.")
        var verdicts = false
        @Option(help: "An ip-to-ASN table (`start end asn country name` lines) so autonomous systems are cohorts (default: the manifest's guard.asn_table).")
        var asnTable: String?

        func validate() throws {
            if let format, AccessLogFormat(rawValue: format) == nil { throw ValidationError("--format must be one of \(AccessLogFormat.allCases.map(\.rawValue).joined(separator: ", "))") }
            if let explain, IPAddress(explain) == nil { throw ValidationError("--explain takes an IP address, got \(explain)") }
            if verdicts, explain != nil || recalcs || json { throw ValidationError("--verdicts prints JSON per line on its own; leave out --explain, --recalcs and --json") }
        }

        func run() async throws {
            try await Failure.reporting { try replay() }
        }

        /// The replay itself, synchronous (an async body here made swift 6.3's optimizer crash).
        func replay() throws {
            let settings = FileManager.default.fileExists(atPath: manifest.file) ? try Project(file: manifest.file).manifest.guardSettings : nil
            let useCase = settings.map { GuardReplayUseCase(settings: $0) } ?? GuardReplayUseCase()
            let owners = try NetworkOwners.load(asnTable ?? settings?.asnTable)
            let chosen = format.flatMap(AccessLogFormat.init(rawValue:))
            if verdicts {
                try GuardVerdictsUseCase(replay: useCase).run(log: log, format: chosen, owners: owners)
            } else {
                try useCase.run(log: log, format: chosen, json: json, explain: explain.flatMap { IPAddress($0) }, recalcs: recalcs, owners: owners)
            }
        }
    }

    struct Evaluate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "evaluate",
            abstract: "Score detection on labelled scenarios: per class clients, bans, false bans, time to ban; precision and recall.",
            discussion: """
                Each scenario is a folder with scenario.yaml (the traffic, as classes of clients) and expected.yaml (the outcome \
                it must have); see docs/guard.md. Beside them, the real public logs of scenarios/real/labels.yaml that are found \
                (scenarios/real/fetch-corpus brings them into .build/real-logs) are replayed and every ban of an address no \
                label names is a false ban; real and synthetic precision are reported apart. Exit status 1 when a scenario \
                misses its expected outcome or a real log has a false ban.
                """)
        @Argument(help: "Scenario folders (default: every folder under scenarios/guard).") var scenarios: [String] = []
        @Option(help: "Run with these seeds instead of each scenario's own (comma-separated).") var seeds: String?
        @Option(name: [.customShort("f"), .customLong("file")], help: "Judge with this manifest's guard settings instead of the built-in defaults.")
        var manifestFile: String?
        @Flag(help: "One JSON report per scenario and seed.") var json = false
        @Option(help: "Also write the generated access log to this file (for replay or benchmarks).") var writeLog: String?
        @Option(help: "Folders holding the real logs of scenarios/real/labels.yaml (default: .build/real-logs and ../shared/data/real-logs; with scenario folders given, none).")
        var realLogs: [String] = []

        func run() async throws {
            try await Failure.reporting {
                let folders = try scenarios.isEmpty ? Self.defaultFolders() : scenarios
                let settings = try manifestFile.map { try Project(file: $0).manifest.guardSettings }
                let seedList = try seeds.map { text in
                    try text.split(separator: ",").map { part -> UInt64 in
                        guard let seed = UInt64(part.trimmingCharacters(in: .whitespaces)) else { throw ValidationError("--seeds: \(part) is not a number") }
                        return seed
                    }
                }
                var failed = false
                var synthetic = (banned: 0, attackers: 0)
                for folder in folders {
                    let scenario = try Scenario(folder: folder)
                    let evaluation = settings.map { Evaluation(scenario: scenario, config: GuardConfig($0), classifier: $0.requests) }
                        ?? Evaluation(scenario: scenario)
                    for seed in seedList ?? [scenario.seed] {
                        var writer: LineWriter? = try writeLog.map { try LineWriter(path: $0) }
                        let report = evaluation.run(seed: seed, log: writer == nil ? nil : { writer?.write($0) })
                        try writer?.close()
                        failed = failed || !report.failures.isEmpty
                        synthetic.banned += report.classes.reduce(0) { $0 + $1.banned }
                        synthetic.attackers += report.classes.filter(\.attack).reduce(0) { $0 + $1.banned }
                        print(json ? report.jsonLine : report.table + "\n")
                    }
                }
                let real = try realReports(settings: settings, scenariosGiven: !scenarios.isEmpty)
                failed = failed || real.contains { !$0.failures.isEmpty }
                if json {
                    for report in real { print(report.jsonLine) }
                } else {
                    if !real.isEmpty { print(([RealLogs.Report.header] + real.map(\.row)).joined(separator: "\n") + "\n") }
                    let realBanned = real.reduce(0) { $0 + $1.bannedClients }, realFalse = real.reduce(0) { $0 + $1.falseBans.count }
                    print(String(format: "synthetic precision %.3f (%d clients banned)", synthetic.banned == 0 ? 1.0 : Double(synthetic.attackers) / Double(synthetic.banned), synthetic.banned))
                    print(real.isEmpty ? "real logs: none found (scenarios/real/fetch-corpus fetches them)"
                          : String(format: "real precision %.3f (%d clients banned, %d false bans, %d logs, %d lines)",
                                   realBanned == 0 ? 1.0 : Double(realBanned - realFalse) / Double(realBanned), realBanned, realFalse, real.count, real.reduce(0) { $0 + $1.lines }))
                }
                if failed { throw ExitCode(1) }
            }
        }

        /// The labelled real logs found, replayed with the same settings as the scenarios.
        func realReports(settings: GuardSettings?, scenariosGiven: Bool) throws -> [RealLogs.Report] {
            let labels = "scenarios/real/labels.yaml"
            let folders = realLogs.isEmpty && !scenariosGiven ? [".build/real-logs", "../shared/data/real-logs"] : realLogs
            guard !folders.isEmpty, FileManager.default.fileExists(atPath: labels) else { return [] }
            let real = try settings.map { try RealLogs(labels: labels, config: GuardConfig($0), classifier: $0.requests) } ?? RealLogs(labels: labels)
            return real.run(directories: folders)
        }

        static func defaultFolders() throws -> [String] {
            let root = "scenarios/guard"
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: root) else {
                throw ValidationError("no scenario folders given and no \(root) here: run from the project folder or name the folders")
            }
            return names.sorted().map { "\(root)/\($0)" }.filter { FileManager.default.fileExists(atPath: "\($0)/scenario.yaml") }
        }
    }
}
