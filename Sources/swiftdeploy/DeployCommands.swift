import ArgumentParser
import Foundation
import Deploy
import Manifest
import Policy
import Runtime
import Spawn
import Telemetry
import Vocabulary

struct Init: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Generate nginx.conf and docker-compose.yml from the manifest (idempotent, byte-for-byte deterministic).")
    @OptionGroup var manifest: ManifestOption
    @Option(help: "Directory to write the generated files to (default: beside the manifest).") var out: String?
    @Flag(help: "Write the example manifest first when there is none.") var example = false

    func run() async throws {
        try await Failure.reporting {
            if example { try InitUseCase.writeExample(to: manifest.file) }
            try InitUseCase(project: manifest.project()).run(out: out)
        }
    }
}

struct Validate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check the manifest and the host: one PASS/FAIL line per check, exit 1 on any FAIL.")
    @OptionGroup var manifest: ManifestOption

    func run() async throws {
        let checks = ValidateUseCase(file: manifest.file).run()
        if checks.contains(where: { $0.outcome == .fail }) { throw ExitCode(1) }
    }
}

struct Diff: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show drift between the manifest and the generated or running files; exit 1 on drift.")
    @OptionGroup var manifest: ManifestOption
    @Option(help: "Directory the generated files were written to (default: beside the manifest).") var out: String?

    func run() async throws {
        var drifted = false
        try await Failure.reporting {
            drifted = try DiffUseCase(project: manifest.project()).run(out: out)
        }
        if drifted { throw ExitCode(1) }
    }
}

struct DeployCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "deploy",
        abstract: "Generate, check the infrastructure policy, start (or replace, with zero failed requests) the stable track behind nginx.")
    @OptionGroup var manifest: ManifestOption
    @Flag(help: "Deploy even when the infrastructure policy denies (recorded in history).") var force = false
    @OptionGroup var lock: LockOption

    func run() async throws {
        try await Failure.reporting {
            let stack = try Stack(project: manifest.project())
            try await stack.changing("deploy", wait: lock.wait) { try await stack.deploy(force: force) }
        }
    }
}

struct CanaryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "canary", abstract: "Run a canary track beside stable.", subcommands: [CanaryStart.self])
}

struct CanaryStart: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "start", abstract: "Start the canary track (after the infrastructure policy) and send it its weight of traffic.")
    @OptionGroup var manifest: ManifestOption
    @Option(help: "Container image for the canary (compose runtime).") var image: String?
    @Option(help: "Command for the canary (local runtime), e.g. \"swiftdeploy-demo --port {port}\".") var command: String?
    @Option(help: "Percentage of traffic for the canary, 0-100 (default: the manifest's canary.weight).") var weight: Int?
    @Flag(help: "Start even when the infrastructure policy denies (recorded in history).") var force = false
    @OptionGroup var lock: LockOption

    func run() async throws {
        try await Failure.reporting {
            let stack = try Stack(project: manifest.project())
            try await stack.changing("canary start", wait: lock.wait) {
                try await stack.startCanary(weight: weight, command: command.map { $0.split(separator: " ").map(String.init) }, image: image, force: force)
            }
        }
    }
}

struct Promote: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Make the canary stable when canary_safety allows; exit 1 with the violations when it does not.",
        discussion: "Seed spellings: `promote canary` = `canary start`, `promote stable` = `rollback`.")
    @OptionGroup var manifest: ManifestOption
    @Argument(help: "Seed spelling: canary (start the canary) or stable (roll back).") var target: String?
    @Option(help: "Progressive weights, e.g. 10,25,50,100: analysis at every step, rollback on the first deny.") var steps: String?
    @Option(help: "Time between two checks of the canary, e.g. 30s (default: policy.canary_safety.interval).") var interval: String?
    @Flag(help: "Bypass the policy gate (loudly recorded in history).") var force = false
    @OptionGroup var lock: LockOption

    func validate() throws {
        if let target, !["canary", "stable"].contains(target) {
            throw ValidationError("promote takes canary or stable (seed spellings), got \"\(target)\"")
        }
        if let steps, parsedSteps(steps) == nil {
            throw ValidationError("--steps must be rising percentages 1-100 such as 10,25,50,100, got \"\(steps)\"")
        }
        if let interval, DurationText.parse(interval) == nil { throw ValidationError("--interval must be a duration such as 30s, got \"\(interval)\"") }
    }

    func parsedSteps(_ text: String) -> [Int]? {
        let values = text.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !values.isEmpty, values.allSatisfy({ $0.map { (1...100).contains($0) } ?? false }) else { return nil }
        let numbers = values.compactMap { $0 }
        return numbers == numbers.sorted() ? numbers : nil
    }

    func run() async throws {
        try await Failure.reporting {
            let stack = try Stack(project: manifest.project())
            try await stack.changing(["promote", target].compactMap { $0 }.joined(separator: " "), wait: lock.wait) {
                switch target {
                case "canary": try await stack.startCanary(weight: nil, command: nil, image: nil, force: force)
                case "stable": try await stack.rollback()
                default:
                    try await stack.promote(steps: steps.flatMap(parsedSteps) ?? [], interval: interval.flatMap(DurationText.parse), force: force)
                }
            }
        }
    }
}

struct Rollback: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Send all traffic to stable and stop the canary (always allowed); with --to, make an earlier release stable again.",
        discussion: "`rollback --to VERSION` starts the newest kept release of that version (`swiftdeploy releases`) through the infrastructure policy and the same zero-downtime move as a deploy.")
    @OptionGroup var manifest: ManifestOption
    @Option(help: "A kept release's version to make stable again.") var to: String?
    @Flag(help: "With --to: go ahead even when the infrastructure policy denies (recorded in history).") var force = false
    @OptionGroup var lock: LockOption

    func run() async throws {
        try await Failure.reporting {
            let stack = try Stack(project: manifest.project())
            try await stack.changing(to.map { "rollback --to \($0)" } ?? "rollback", wait: lock.wait) {
                if let to { try await stack.rollback(to: to, force: force) } else { try await stack.rollback() }
            }
        }
    }
}

struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Live view of tracks, rates, error rate, p99 and policy verdicts.")
    @OptionGroup var manifest: ManifestOption
    @Flag(help: "Print once and exit.") var once = false
    @Option(help: "Refresh interval.") var interval: String = "2s"
    @Flag(help: "Machine-readable output (one JSON object per refresh).") var json = false

    func run() async throws {
        guard let every = DurationText.parse(interval) else { throw ValidationError("--interval must be a duration such as 2s") }
        try await Failure.reporting {
            try await StatusUseCase(stack: Stack(project: manifest.project())).run(once: once, interval: every, json: json)
        }
    }
}

struct Audit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Turn history.jsonl into a Markdown audit report.")
    @OptionGroup var manifest: ManifestOption
    @Option(help: "Report file.") var out: String = "audit_report.md"

    func run() async throws {
        try await Failure.reporting {
            let project = try manifest.project()
            let history = History(stateDirectory: project.manifest.stateDirectory)
            try AuditUseCase(history: history).write(title: project.manifest.name, to: out)
            print("audit: wrote \(out) from \(history.path)")
        }
    }
}

struct ImageCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "image", abstract: "Container images for runtime compose, without a registry.", subcommands: [Build.self])

    struct Build: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make the images the manifest names: the demo service from its binary, nginx pulled or stood in for by Debian's.",
            discussion: """
                The demo image (every swiftdeploy-demo:TAG the manifest names) carries the swiftdeploy-demo binary and the libraries                 it links, runs as a user of its own and checks its own health. The nginx image is used when present, else pulled,                 else (or with --offline) built from Debian's nginx on a local Debian base made by debootstrap.
                """)
        @OptionGroup var manifest: ManifestOption
        @Option(help: "The swiftdeploy-demo binary to package (default: the one beside swiftdeploy; a release build with --static-swift-stdlib is smallest).")
        var binary: String?
        @Option(name: .customLong("tag"), help: "Also tag the demo image so (repeatable).") var tags: [String] = []
        @Flag(help: "Never ask a registry: a missing nginx image is built from Debian's.") var offline = false

        func run() async throws {
            try await Failure.reporting {
                let project = try manifest.project()
                let images = ContainerImages(manifest: project.manifest, console: TerminalConsole(),
                                             demoBinary: binary ?? "\(ChildProcess.executableDirectory)/swiftdeploy-demo", offline: offline)
                let built = try images.build(extraDemoTags: tags)
                TerminalConsole().say("images ready: \(built.joined(separator: ", "))")
            }
        }
    }
}

struct Teardown: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Stop nginx and every track and remove runtime state.")
    @OptionGroup var manifest: ManifestOption
    @Flag(help: "Also remove the generated files and the whole state directory (history included).") var clean = false
    @OptionGroup var lock: LockOption

    func run() async throws {
        try await Failure.reporting {
            let stack = try Stack(project: manifest.project())
            try await stack.changing("teardown", wait: lock.wait) { try await stack.teardown(clean: clean) }
        }
    }
}

struct Chaos: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Make a running track misbehave: slow, error or recover (demo app's /chaos).")
    @OptionGroup var manifest: ManifestOption
    @Argument(help: "slow, error or recover.") var mode: String
    @Option(help: "Track to affect.") var track: String = "canary"
    @Option(help: "Share of requests to fail (error mode), 0.0-1.0.") var rate: Double = 0.5
    @Option(help: "Delay per request (slow mode), e.g. 2s.") var duration: String = "1s"

    func validate() throws {
        guard ["slow", "error", "recover"].contains(mode) else { throw ValidationError("mode must be slow, error or recover, got \"\(mode)\"") }
        guard Track(rawValue: track) != nil else { throw ValidationError("--track must be stable or canary") }
        guard (0...1).contains(rate) else { throw ValidationError("--rate must be 0.0-1.0") }
        guard DurationText.parse(duration) != nil else { throw ValidationError("--duration must be a duration such as 2s") }
    }

    func run() async throws {
        let body: JSONValue = switch mode {
        case "slow": ["mode": "slow", "duration": .number(DurationText.parse(duration)!.seconds)]
        case "error": ["mode": "error", "rate": .number(rate)]
        default: ["mode": "recover"]
        }
        try await Failure.reporting {
            try await Stack(project: manifest.project()).chaos(body, track: Track(rawValue: track)!)
        }
    }
}

struct PolicyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "policy", abstract: "Evaluate, test and benchmark the Rego policies.",
        subcommands: [PolicyCheck.self, PolicyTest.self, PolicyBench.self])
}

struct PolicyCheck: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Evaluate a policy against the live host or an input file; exit 0 allow, 1 deny, 2 no answer (also a deny).")
    @OptionGroup var manifest: ManifestOption
    @Option(help: "infrastructure or canary_safety.") var policy: String = "infrastructure"
    @Option(help: "JSON input file instead of live measurements.") var input: String?
    @Flag(help: "Print the decision as JSON.") var json = false

    func validate() throws {
        guard PolicyName(rawValue: policy) != nil else {
            throw ValidationError("--policy must be one of \(PolicyName.allCases.map(\.rawValue).joined(separator: ", ")), got \"\(policy)\"")
        }
    }

    func run() async throws {
        var outcome = PolicyCheckUseCase.Outcome.unanswered
        try await Failure.reporting {
            outcome = try await PolicyCheckUseCase(project: manifest.project()).run(
                policy: PolicyName(rawValue: policy)!, inputFile: input, json: json)
        }
        if outcome != .allowed { throw ExitCode(outcome.rawValue) }
    }
}

struct PolicyTest: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "test", abstract: "Run the test_ rules of the policy directory, like `opa test`, on one engine or both.")
    @OptionGroup var manifest: ManifestOption
    @OptionGroup var engines: PolicyEngineOptions

    func run() async throws {
        var passed = false
        try await Failure.reporting {
            passed = await PolicyTestUseCase(project: try manifest.project()).run(on: engines.engine ?? .embedded, opaURL: engines.opaURL)
        }
        if !passed { throw ExitCode(1) }
    }
}

struct PolicyBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Warm decision latency (p50, p99) and decisions per second, per engine.")
    @OptionGroup var manifest: ManifestOption
    @OptionGroup var engines: PolicyEngineOptions
    @Option(help: "Decisions to time per engine.") var decisions: Int = 5000

    func run() async throws {
        try await Failure.reporting {
            _ = await PolicyBenchUseCase(project: try manifest.project(), engines: engines.engine, opaURL: engines.opaURL)
                .run(decisions: max(1, decisions))
        }
    }
}

/// Which engines a policy command runs on, and where OPA is.
struct PolicyEngineOptions: ParsableArguments {
    @Option(help: "embedded, opa or both (default: the manifest's policy.engine; test: embedded).") var engine: PolicyEngines?
    @Option(name: .customLong("opa-url"), help: "OPA server instead of policy.opa_url.") var opaURL: String?
}

extension PolicyEngines: ExpressibleByArgument {}

/// `--wait`, for every command that changes the stack (they hold the project's lock while they run).
struct LockOption: ParsableArguments {
    @Flag(help: "When another command is changing this stack, wait for it instead of refusing.") var wait = false
}

struct LockCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lock", abstract: "The project's deploy lock: who holds it, and forgetting a finished holder's record.",
        subcommands: [Status.self, Release.self])

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Who holds the lock (exit 1 while it is held).")
        @OptionGroup var manifest: ManifestOption

        func run() async throws {
            var held = false
            try await Failure.reporting {
                let now = Int(Date().timeIntervalSince1970)
                switch try ProjectLock.state(stateDirectory: manifest.project().manifest.stateDirectory) {
                case .held(let holder):
                    held = true
                    print("lock: held by \(holder.described(now: now))")
                case .free(let last):
                    print("lock: free" + (last.map { "; last held by \($0.described(now: now)), which has ended" } ?? ""))
                }
            }
            if held { throw ExitCode(1) }
        }
    }

    struct Release: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Forget the record a finished holder left; refused while a command holds the lock.",
            discussion: "The lock is the kernel's: it is released when its holder ends, however it ends (crash or kill included).")
        @OptionGroup var manifest: ManifestOption

        func run() async throws {
            try await Failure.reporting {
                let last = try ProjectLock.release(stateDirectory: manifest.project().manifest.stateDirectory)
                print("lock: free" + (last.map { " (forgot pid \($0.pid)'s record: swiftdeploy \($0.command))" } ?? ""))
            }
        }
    }
}

struct ReleasesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "releases", abstract: "The kept releases (each one that became stable), newest last; `rollback --to VERSION` restarts one.")
    @OptionGroup var manifest: ManifestOption
    @Flag(help: "JSON output (environment values left out).") var json = false

    func run() async throws {
        try await Failure.reporting {
            let stack = try Stack(project: manifest.project())
            let releases = try stack.releases.all()
            let stable = try stack.runtime.state().tracks[.stable]
            let current = releases.last { $0.starts(stable?.spec) }?.number
            if json {
                print(releases.map { ListedRelease($0, current: $0.number == current) }.jsonLine)
                return
            }
            guard !releases.isEmpty else { print("no releases yet: the first deploy records one"); return }
            let rows = [["#", "version", "runs", "via", "at", ""]] + releases.map { release in
                [String(release.number), release.version, release.runs, release.via, ISO8601.format(Int(release.at.timeIntervalSince1970)),
                 release.number == current ? "stable now" : ""]
            }
            TextTable.lines(rows).forEach { print($0) }
        }
    }
}

/// One release in `releases --json`: what ran, never its environment's values.
struct ListedRelease: Codable {
    var number: Int
    var version: String
    var runs: String
    var via: String
    var at: String
    var environment: [String]
    var current: Bool

    init(_ release: Release, current: Bool) {
        (number, version, runs, via) = (release.number, release.version, release.runs, release.via)
        at = ISO8601.format(Int(release.at.timeIntervalSince1970))
        environment = release.spec.env.keys.sorted()
        self.current = current
    }
}
