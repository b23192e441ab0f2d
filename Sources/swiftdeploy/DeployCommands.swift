import ArgumentParser
import Deploy
import Policy

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
            try InitUseCase(project: Project(file: manifest.file)).run(out: out)
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
            drifted = try DiffUseCase(project: Project(file: manifest.file)).run(out: out)
        }
        if drifted { throw ExitCode(1) }
    }
}

struct DeployCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "deploy",
        abstract: "Generate, check the infrastructure policy, start the stable track behind nginx, wait for /healthz.")
    @OptionGroup var manifest: ManifestOption
    @Flag(help: "Deploy even when the infrastructure policy denies (recorded in history).") var force = false

    func run() async throws {
        try await Failure.reporting {
            try await DeployUseCase(project: Project(file: manifest.file)).run(force: force)
        }
    }
}

struct CanaryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "canary", abstract: "Run a canary track beside stable.", subcommands: [CanaryStart.self])
}

struct CanaryStart: NotBuiltYet {
    static let issue = 5
    static let spelling = "canary start"
    static let configuration = CommandConfiguration(
        commandName: "start", abstract: "Start the canary track and send it its weight of traffic.")
    @OptionGroup var manifest: ManifestOption
    @Option(help: "Container image for the canary (compose runtime).") var image: String?
    @Option(help: "Command for the canary (local runtime), e.g. \"swiftdeploy-demo --port {port}\".") var command: String?
    @Option(help: "Percentage of traffic for the canary, 0-100.") var weight: Int?
}

struct Promote: NotBuiltYet {
    static let issue = 5
    static let spelling = "promote"
    static let configuration = CommandConfiguration(
        abstract: "Promote the canary when canary_safety allows (seed spellings: `promote canary` = canary start, `promote stable` = rollback).")
    @OptionGroup var manifest: ManifestOption
    @Argument(help: "Seed spelling: canary or stable.") var target: String?
    @Option(help: "Progressive weights, e.g. 10,25,50,100.") var steps: String?
    @Option(help: "Time between steps, e.g. 30s.") var interval: String?
    @Flag(help: "Bypass the policy gate (loudly recorded in history).") var force = false
}

struct Rollback: NotBuiltYet {
    static let issue = 5
    static let spelling = "rollback"
    static let configuration = CommandConfiguration(abstract: "Send all traffic to stable and stop the canary (always allowed).")
    @OptionGroup var manifest: ManifestOption
}

struct Status: NotBuiltYet {
    static let issue = 5
    static let spelling = "status"
    static let configuration = CommandConfiguration(
        abstract: "Live view of tracks, rates, error rate, p99 and policy verdicts.")
    @OptionGroup var manifest: ManifestOption
    @Flag(help: "Print once and exit.") var once = false
    @Option(help: "Refresh interval.") var interval: String = "2s"
    @Flag(help: "Machine-readable output.") var json = false
}

struct Audit: NotBuiltYet {
    static let issue = 5
    static let spelling = "audit"
    static let configuration = CommandConfiguration(abstract: "Turn history.jsonl into a Markdown audit report.")
    @OptionGroup var manifest: ManifestOption
    @Option(help: "Report file.") var out: String = "audit_report.md"
}

struct Teardown: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Stop nginx and every track.")
    @OptionGroup var manifest: ManifestOption
    @Flag(help: "Also remove the state directory.") var clean = false

    func run() async throws {
        try await Failure.reporting {
            try await TeardownUseCase(project: Project(file: manifest.file)).run(clean: clean)
        }
    }
}

struct Chaos: NotBuiltYet {
    static let issue = 5
    static let spelling = "chaos"
    static let configuration = CommandConfiguration(abstract: "Inject a fault into a running track: slow, error or recover.")
    @OptionGroup var manifest: ManifestOption
    @Argument(help: "slow, error or recover.") var mode: String
    @Option(help: "Track to affect.") var track: String = "canary"
    @Option(help: "Share of requests to fail (error mode), 0.0-1.0.") var rate: Double?
    @Option(help: "Delay per request (slow mode), e.g. 2s.") var duration: String?
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
            outcome = try await PolicyCheckUseCase(project: Project(file: manifest.file)).run(
                policy: PolicyName(rawValue: policy)!, inputFile: input, json: json)
        }
        if outcome != .allowed { throw ExitCode(outcome.rawValue) }
    }
}

struct PolicyTest: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "test", abstract: "Run the test_ rules of the policy directory, like `opa test`.")
    @OptionGroup var manifest: ManifestOption

    func run() async throws {
        var passed = false
        try await Failure.reporting {
            passed = PolicyTestUseCase(project: try Project(file: manifest.file)).run()
        }
        if !passed { throw ExitCode(1) }
    }
}

struct PolicyBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Warm decision latency (p50, p99) and decisions per second of the configured engine.")
    @OptionGroup var manifest: ManifestOption
    @Option(help: "Decisions to time.") var decisions: Int = 5000

    func run() async throws {
        try await Failure.reporting {
            _ = await PolicyBenchUseCase(project: try Project(file: manifest.file)).run(decisions: max(1, decisions))
        }
    }
}
