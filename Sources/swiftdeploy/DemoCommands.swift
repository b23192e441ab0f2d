import ArgumentParser
import Deploy
import Foundation
import TrafficScenarios
import Runtime
import Spawn

struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo", abstract: "Show SwiftDeploy at work on the running example.", subcommands: [Traffic.self])

    struct Traffic: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "traffic",
            abstract: "Send a scenario's simulated clients (ordinary readers and attackers) through nginx in real time.",
            discussion: """
                Each client's address goes in X-Forwarded-For, which the example manifest trusts from the loopback \
                proxy, so the guard sees many clients: its dashboard shows a learnt baseline, top clients and bans.
                """)
        @OptionGroup var manifest: ManifestOption
        @Option(help: "Scenario folder (scenario.yaml).") var scenario: String = "scenarios/guard/demo"
        @Option(help: "Base URL (default: the manifest's nginx).") var url: String?
        @Option(help: "Stop after this many seconds (default: the scenario's duration).") var seconds: Double?

        func run() async throws {
            ChildProcess.lineBufferStandardOutput()  // scripts/start sends its output to a file read while it runs
            try await Failure.reporting {
                let runtime = try manifest.project().runtime
                let base = url ?? runtime.publicURL
                let figures = try await DemoTrafficUseCase(scenario: try Scenario(folder: scenario), baseURL: base, client: runtime.edgeClient)
                    .run(limit: seconds)
                if figures.sent > 0 && figures.failed == figures.sent {
                    throw ValidationError("no request reached \(base): is the stack up? (scripts/start, or swiftdeploy deploy)")
                }
            }
        }
    }
}

