import ArgumentParser
import Foundation
import Deploy
import Manifest
import Policy
import Runtime
import Spawn
import Telemetry
import Vocabulary

struct DeployCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "deploy",
        abstract: "Generate, check the infrastructure policy, start (or replace, with zero failed requests) the stable track behind nginx.")
    @OptionGroup var manifest: ManifestOption
    @Flag(help: "Deploy even when the infrastructure policy denies (recorded in history).") var force = false
    @OptionGroup var lock: LockOption

    func run() async throws {
        try await lock.changing(manifest, as: "deploy") { try await $0.deploy(force: force) }
    }
}

struct CanaryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "canary", abstract: "Run a canary track beside stable.", subcommands: [Start.self, Stop.self])

    struct Start: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "start", abstract: "Start the canary track (after the infrastructure policy) and send it its weight of traffic.")
        @OptionGroup var manifest: ManifestOption
        @Option(help: "Container image for the canary (compose runtime).") var image: String?
        @Option(help: "Command for the canary (local runtime), e.g. \"swiftdeploy-demo --port {port}\".") var command: String?
        @Option(help: "Percentage of traffic for the canary, 0-100 (default: the manifest's canary.weight).") var weight: Int?
        @Option(help: "The version to label an ad-hoc canary (--command or --image) with (default: the manifest's canary.version, else \"canary\").")
        var version: String?
        @Flag(help: "Start even when the infrastructure policy denies (recorded in history).") var force = false
        @OptionGroup var lock: LockOption

        func run() async throws {
            try await lock.changing(manifest, as: "canary start") { stack in
                try await stack.startCanary(weight: weight, command: command.map { $0.split(separator: " ").map(String.init) }, image: image,
                                            version: version, force: force)
            }
        }
    }

    struct Stop: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop the canary and send all traffic to stable (what `rollback` does without --to).")
        @OptionGroup var manifest: ManifestOption
        @OptionGroup var lock: LockOption

        func run() async throws {
            try await lock.changing(manifest, as: "canary stop") { try await $0.rollback(reason: "canary stop") }
        }
    }
}

struct Promote: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Make the canary stable when canary_safety allows; exit 1 with the violations when it does not.",
        discussion: "Seed spelling: `promote canary` = `canary start`. Ctrl-C during --steps puts the traffic back where it was before the promotion.")
    @OptionGroup var manifest: ManifestOption
    @Argument(help: "Seed spelling: canary (start the canary).") var target: String?
    @Option(help: "Progressive weights, e.g. 10,25,50,100: analysis at every step, rollback on the first deny.") var steps: String?
    @Option(help: "Time between two checks of the canary, e.g. 30s (default: policy.canary_safety.interval).") var interval: String?
    @Flag(help: "Bypass the policy gate (loudly recorded in history).") var force = false
    @OptionGroup var lock: LockOption

    func validate() throws {
        if target == "stable" {
            throw ValidationError("`promote stable` would not promote anything: to send all traffic to stable and stop the canary, run `swiftdeploy rollback`")
        }
        if let target, target != "canary" {
            throw ValidationError("promote takes no argument but `canary` (a seed spelling of `canary start`), got \"\(target)\"")
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
        try await lock.changing(manifest, as: ["promote", target].compactMap { $0 }.joined(separator: " ")) { stack in
            switch target {
            case "canary": try await stack.startCanary(weight: nil, command: nil, image: nil, force: force)
            default:
                let (steps, interval) = (steps.flatMap(parsedSteps) ?? [], interval.flatMap(DurationText.parse))
                // Ctrl-C puts the traffic back where it was before the promotion, then ends.
                try await Interruption.cancelling { try await stack.promote(steps: steps, interval: interval, force: force) }
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
        try await lock.changing(manifest, as: to.map { "rollback --to \($0)" } ?? "rollback") { stack in
            if let to { try await stack.rollback(to: to, force: force) } else { try await stack.rollback() }
        }
    }
}

struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Live view of tracks, rates, error rate, p99 and policy verdicts.",
        discussion: "Exit status 4 when a track that was started is not up (restarting, failed or gone) or does not answer its health check.")
    @OptionGroup var manifest: ManifestOption
    @Flag(help: "Print once and exit.") var once = false
    @Option(help: "Refresh interval.") var interval: String = "2s"
    @Flag(help: "Machine-readable output (one JSON object per refresh).") var json = false

    func run() async throws {
        guard let every = DurationText.parse(interval) else { throw ValidationError("--interval must be a duration such as 2s") }
        var allUp = true
        try await Failure.reporting {
            allUp = try await StatusUseCase(stack: Stack(project: manifest.project())).run(once: once, interval: every, json: json)
        }
        if !allUp { throw ExitCode(ExitStatus.unhealthy) }
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
