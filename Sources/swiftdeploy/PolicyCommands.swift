import ArgumentParser
import Foundation
import Deploy
import Manifest
import Policy
import Runtime
import Spawn
import Telemetry
import Vocabulary

struct PolicyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "policy", abstract: "Evaluate, test and benchmark the Rego policies.",
        subcommands: [Check.self, Test.self, Bench.self])

    struct Check: AsyncParsableCommand {
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

    struct Test: AsyncParsableCommand {
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

    struct Bench: AsyncParsableCommand {
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
}

/// Which engines a policy command runs on, and where OPA is.
struct PolicyEngineOptions: ParsableArguments {
    @Option(help: "embedded, opa or both (default: the manifest's policy.engine; test: embedded).") var engine: PolicyEngines?
    @Option(name: .customLong("opa-url"), help: "OPA server instead of policy.opa_url.") var opaURL: String?
}

extension PolicyEngines: ExpressibleByArgument {}
