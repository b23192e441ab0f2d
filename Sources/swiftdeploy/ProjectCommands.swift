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
        let checks = await ValidateUseCase(file: manifest.file).run()
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

struct Teardown: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Stop nginx and every track and remove runtime state.")
    @OptionGroup var manifest: ManifestOption
    @Flag(help: "Also remove the generated files and the state directory, but for history.jsonl and releases.json.") var clean = false
    @Flag(help: "With --clean: remove history.jsonl and releases.json too (the evidence of what ran; asked for apart on purpose).")
    var forgetHistory = false
    @OptionGroup var lock: LockOption

    func validate() throws {
        if forgetHistory && !clean { throw ValidationError("--forget-history goes with --clean") }
    }

    func run() async throws {
        try await lock.changing(manifest, as: "teardown") { try await $0.teardown(clean: clean, keepHistory: !forgetHistory) }
    }
}
