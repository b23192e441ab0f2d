import ArgumentParser
import Dashboard
import Deploy
import Foundation
import GuardService
import Logging
import ServiceLifecycle
import Spawn
import Vocabulary

/// `swiftdeploy guard …`: the edge guard's commands, each a nested type (in the files named after it).
struct GuardCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "guard", abstract: "The edge guard: detect abusive clients in nginx's log and ban them.",
        subcommands: [Run.self, Replay.self, Evaluate.self, Bans.self, Bench.self, Install.self, Uninstall.self])
}

extension GuardCommand {
    struct Run: AsyncParsableCommand {
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
}
