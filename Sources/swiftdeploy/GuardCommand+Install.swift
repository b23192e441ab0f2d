import ArgumentParser
import Deploy
import Foundation
import GuardService
import Spawn

extension GuardCommand {
    struct Install: AsyncParsableCommand {
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

    struct Uninstall: AsyncParsableCommand {
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
}
