import ArgumentParser
import Dashboard
import Deploy
import Runtime
import Foundation
import Guard
import GuardEvaluation
import TrafficScenarios
import Logging
import Manifest
import ServiceLifecycle
import Telemetry
import Spawn
import Vocabulary
import GuardService

struct GuardCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "guard", abstract: "The edge guard: detect abusive clients in nginx's log and ban them.",
        subcommands: [GuardRun.self, GuardReplay.self, GuardEvaluate.self, GuardBans.self, GuardBench.self, GuardInstall.self, GuardUninstall.self])
}

struct GuardRun: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run", abstract: "Run the daemon: follow the access log, detect, ban in the firewall, alert, keep an audit log.")
    @OptionGroup var manifest: ManifestOption
    @Option(help: "Access log to follow instead of guard.log (the compose guard container uses this).") var log: String?
    @Option(help: "State directory instead of state_dir.") var stateDir: String?
    @Flag(inversion: .prefixedNo, help: "Serve the dashboard on dashboard.listen.") var dashboard = true

    /// The daemon and the dashboard as services of one group: SIGTERM or SIGINT stops the daemon
    /// cleanly (its last step, then the dashboard); SIGHUP reloads the manifest's guard settings.
    func run() async throws {
        ChildProcess.lineBufferStandardOutput()  // a daemon's log is read while it runs
        // Decisions are structured records: journal entries with fields under systemd, else lines
        // on standard output beside the daemon's own.
        let journal = JournalLogHandler.outputIsJournal()
        LoggingSystem.bootstrap { journal ? JournalLogHandler(label: $0) as any LogHandler : StreamLogHandler.standardOutput(label: $0) }
        try await Failure.reporting {
            let project = try manifest.project(.refuse)
            let console = TerminalConsole()
            let enforcer = EnforcerChoice.make(project.manifest.guardSettings.enforcer) { console.say($0) }
            let daemon = try GuardDaemon(settings: project.manifest.guardSettings, stateDirectory: stateDir ?? project.manifest.stateDirectory,
                                         logPath: log, enforcer: enforcer, console: console)
            let file = manifest.file
            let guarding = GuardDaemonService(daemon: daemon) {
                do {
                    return try Project(file: file).manifest.guardSettings
                } catch {
                    console.warn("guard: reload refused, the running configuration stays: \(error)")
                    return nil
                }
            }
            // Stopped in reverse order: the daemon first. A dashboard that ends (it could not listen) leaves the guard running.
            var services = [ServiceGroupConfiguration.ServiceConfiguration(service: guarding, successTerminationBehavior: .gracefullyShutdownGroup)]
            if dashboard {
                services.insert(.init(service: DashboardService(project: project, daemon: daemon, console: console), successTerminationBehavior: .ignore), at: 0)
            }
            var logger = Logger(label: "swiftdeploy.guard.services")
            logger.logLevel = .warning
            var group = ServiceGroupConfiguration(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
            group.maximumGracefulShutdownDuration = .seconds(10)
            try await ServiceGroup(configuration: group).run()
        }
    }
}

struct GuardReplay: AsyncParsableCommand {
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
    @Flag(help: "One JSON object per decision, then a summary object.") var json = false
    @Option(help: "Follow one client: its rate, expectation, z and rule levels at every recalc, and why it was or was not banned.")
    var explain: String?

    func validate() throws {
        if let format, AccessLogFormat(rawValue: format) == nil { throw ValidationError("--format must be one of \(AccessLogFormat.allCases.map(\.rawValue).joined(separator: ", "))") }
        if let explain, IPAddress(explain) == nil { throw ValidationError("--explain takes an IP address, got \(explain)") }
    }

    func run() async throws {
        try await Failure.reporting {
            let useCase = FileManager.default.fileExists(atPath: manifest.file)
                ? GuardReplayUseCase(settings: try Project(file: manifest.file).manifest.guardSettings)
                : GuardReplayUseCase()
            try useCase.run(log: log, format: format.flatMap(AccessLogFormat.init(rawValue:)), json: json,
                            explain: explain.flatMap { IPAddress($0) })
        }
    }
}

struct GuardEvaluate: AsyncParsableCommand {
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

/// Buffered line output to a file.
struct LineWriter {
    let handle: FileHandle
    var buffer = Data()

    init(path: String) throws {
        guard FileManager.default.createFile(atPath: path, contents: nil), let handle = FileHandle(forWritingAtPath: path) else {
            throw ValidationError("cannot write \(path)")
        }
        self.handle = handle
    }

    mutating func write(_ line: String) {
        buffer.append(contentsOf: line.utf8)
        buffer.append(0x0A)
        if buffer.count >= 1 << 20 { handle.write(buffer); buffer.removeAll(keepingCapacity: true) }
    }

    /// Whole lines, already newline-terminated.
    mutating func append(_ lines: Data) {
        handle.write(buffer)
        buffer.removeAll(keepingCapacity: true)
        handle.write(lines)
    }

    mutating func close() throws {
        handle.write(buffer)
        try handle.close()
    }
}

struct GuardBans: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bans", abstract: "List, add or remove bans.", subcommands: [BansList.self, BansAdd.self, BansRemove.self])
}

struct BansList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "Active bans with offence count and remaining time.")
    @OptionGroup var manifest: ManifestOption
    @Flag(help: "JSON output.") var json = false

    func run() async throws {
        try await Failure.reporting {
            let project = try manifest.project(.refuse)
            try await GuardBansUseCase(settings: project.manifest.guardSettings, stateDirectory: project.manifest.stateDirectory).list(json: json)
        }
    }
}

struct BansAdd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "add", abstract: "Ban an address by hand.")
    @OptionGroup var manifest: ManifestOption
    @Argument(help: "IP address.") var ip: String
    @Option(help: "Ban length, e.g. 10m, or permanent.") var duration: String = "10m"

    func validate() throws {
        guard IPAddress(ip) != nil else { throw ValidationError("\(ip) is not an IP address") }
        guard duration == "permanent" || DurationText.parse(duration) != nil else { throw ValidationError("--duration must be like 10m or permanent") }
    }

    func run() async throws {
        try await Failure.reporting {
            let project = try manifest.project(.refuse)
            let seconds = duration == "permanent" ? nil : DurationText.parse(duration).map { Int($0.seconds) }
            try await GuardBansUseCase(settings: project.manifest.guardSettings, stateDirectory: project.manifest.stateDirectory)
                .change(add: true, ip: ip, seconds: seconds)
        }
    }
}

struct BansRemove: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "remove", abstract: "Lift a ban.")
    @OptionGroup var manifest: ManifestOption
    @Argument(help: "IP address.") var ip: String

    func run() async throws {
        try await Failure.reporting {
            let project = try manifest.project(.refuse)
            try await GuardBansUseCase(settings: project.manifest.guardSettings, stateDirectory: project.manifest.stateDirectory)
                .change(add: false, ip: ip, seconds: nil)
        }
    }
}

struct GuardBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Ingest benchmark: parse + windows + detection over generated JSON lines; prints lines/s and peak RSS.")
    @Option(help: "Lines to generate.") var lines: Int = 1_000_000
    @Option(help: "Distinct client addresses.") var ips: Int = 50_000
    @Flag(help: "Instead: latency from a line appended to a real file to its decision, at 2,000 lines/s for 5 s.") var latency = false
    @Flag(help: "Instead: the live daemon under a flood (--rate lines/s in one write a second for --seconds, a 2,000 req/s flooder among them), then reading --lines waiting lines after a restart.")
    var flood = false
    @Option(help: "Lines per second for --flood.") var rate: Int = 150_000
    @Option(help: "Seconds of flood for --flood.") var seconds: Int = 10
    @Option(help: "Instead: apply this many bans to nftables in one transaction (root; run it in a namespace of its own).") var apply: Int?
    @Option(help: "Instead: write the generated lines to this file (for timing `guard replay` as a whole process).") var writeLog: String?
    @Option(help: "Format of --write-log: json or combined.") var format: String = "json"
    @Option(help: "Instead: write --lines decisions from --edges concurrent edges to this guard.shared database (password from SWIFTDEPLOY_GUARD_DB_PASSWORD).")
    var shared: String?
    @Option(help: "Concurrent edges for --shared.") var edges: Int = 3

    func run() async throws {
        if let shared {
            try await Failure.reporting {
                let figures = try await SharedBenchmark.publish(url: shared, decisions: max(1, lines), edges: max(1, edges))
                print(String(format: "guard bench --shared: %d decisions from %d edges in %.3f s: %.0f decisions/s",
                             figures.decisions, figures.edges, figures.seconds, figures.perSecond))
            }
            return
        }
        if let apply {
            try await Failure.reporting {
                let figures = try FirewallBenchmark.apply(max(1, apply))
                print(String(format: "guard bench --apply: %d bans into nftables in one transaction in %.3f s; %d in the kernel set",
                             figures.bans, figures.seconds, figures.inKernel))
            }
            return
        }
        if let writeLog {
            try await Failure.reporting {
                guard let chosen = AccessLogFormat(rawValue: format) else { throw ValidationError("--format must be one of \(AccessLogFormat.allCases.map(\.rawValue).joined(separator: ", "))") }
                var writer = try LineWriter(path: writeLog)
                for chunk in stride(from: 0, to: lines, by: 100_000) {
                    writer.append(IngestBenchmark.generate(lines: chunk..<min(lines, chunk + 100_000), ips: max(1, ips), format: chosen))
                }
                try writer.close()
                print("guard bench: wrote \(lines) \(chosen.rawValue) lines from \(ips) IPs to \(writeLog)")
            }
            return
        }
        if flood {
            try await Failure.reporting {
                let figures = try await FloodBenchmark.run(rate: max(1, rate), seconds: seconds, backlog: max(1, lines), ips: max(1, ips))
                print(String(format: "guard bench --flood: %d bursts of %d lines, one write a second: each read within p50 %.2f s, max %.2f s of its write; "
                             + "2,000 req/s flooder banned %@ after its first line; peak RSS %.1f MB",
                             figures.bursts, figures.linesPerBurst, figures.readP50, figures.readMax,
                             figures.timeToBan.map { String(format: "%.2f s", $0) } ?? "never", figures.peakRSSMB))
                print(String(format: "guard bench --flood: restart with %d lines waiting: all read in %.2f s = %.0f lines/s on the daemon's one thread",
                             figures.backlogLines, figures.backlogSeconds, Double(figures.backlogLines) / figures.backlogSeconds))
            }
            return
        }
        if latency {
            let figures = try await IngestBenchmark.latency(rate: 2000, seconds: 5)
            print(String(format: "guard bench --latency: %d lines appended at 2000/s, line written → decision: p50 %.1f ms, p99 %.1f ms, max %.1f ms",
                         figures.lines, figures.p50MS, figures.p99MS, figures.maxMS))
            return
        }
        let figures = IngestBenchmark.run(lines: max(1, lines), ips: max(1, ips))
        print(String(format: "guard bench: %d lines from %d IPs in %.3f s = %.0f lines/s on one core; peak RSS %.1f MB; %d clients tracked, %d bans",
                     figures.lines, ips, figures.seconds, figures.linesPerSecond, figures.peakRSSMB, figures.trackedClients, figures.bans))
    }
}

struct GuardInstall: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "install",
        abstract: "Run the guard as a systemd service: write swiftdeploy-guard.service, then enable and start it.",
        discussion: "For a build from source; the Debian package ships the same unit. Needs root. On a host without systemd the unit is written and the commands to start it are printed.")
    @OptionGroup var manifest: ManifestOption
    @Option(help: "State directory for the service (default: the manifest's state_dir).") var stateDir: String?
    @OptionGroup var unit: UnitOptions

    func run() async throws {
        try await Failure.reporting {
            let file = URL(fileURLWithPath: manifest.file).standardizedFileURL.path
            let state = try stateDir ?? Project(file: file).manifest.stateDirectory
            let guardUnit = GuardUnit(binary: try unit.executable, manifest: file, stateDirectory: URL(fileURLWithPath: state).standardizedFileURL.path)
            if unit.print {
                Swift.print(try guardUnit.text(), terminator: "")
                return
            }
            for line in try guardUnit.install(into: unit.unitDirectory, start: !unit.noStart) { Swift.print("guard: \(line)") }
        }
    }
}

struct GuardUninstall: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "uninstall",
        abstract: "Stop and remove the guard's systemd unit, and remove swiftdeploy's firewall table, sets and rules (nothing else is touched).")
    @OptionGroup var manifest: ManifestOption
    @Option(help: "Where the unit was written.") var unitDirectory: String = GuardUnit.directory

    func run() async throws {
        try await Failure.reporting {
            if let removed = try GuardUnit.uninstall(from: unitDirectory) { print("guard: \(removed)") }
            let project = try manifest.project(.refuse)
            let enforcer = EnforcerChoice.make(project.manifest.guardSettings.enforcer) { print($0) }
            try enforcer.uninstall()
            print("guard: removed swiftdeploy's \(enforcer.name) objects")
        }
    }
}

/// What `guard install` and `tls watch` share: which binary the unit runs, where it goes, and
/// whether it is only shown or not started.
struct UnitOptions: ParsableArguments {
    @Option(help: "The swiftdeploy binary the unit runs (default: this one).") var binary: String?
    @Option(help: "Where to write the units.") var unitDirectory: String = SystemdUnits.directory
    @Flag(help: "Print the units instead of writing them.") var print = false
    @Flag(help: "Write the units, but do not enable or start them.") var noStart = false

    var executable: String { get throws { try binary ?? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") } }
}
