import ArgumentParser
import Foundation
import GuardService
import Vocabulary

extension GuardCommand {
    struct Bans: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "bans", abstract: "List, add or remove bans.", subcommands: [List.self, Add.self, Remove.self])

        struct List: AsyncParsableCommand {
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

        struct Add: AsyncParsableCommand {
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

        struct Remove: AsyncParsableCommand {
            static let configuration = CommandConfiguration(commandName: "remove", abstract: "Lift a ban, or every ban with --all.")
            @OptionGroup var manifest: ManifestOption
            @Argument(help: "IP address.") var ip: String?
            @Flag(help: "Lift every ban in force on this edge.") var all = false

            func validate() throws {
                guard (ip == nil) == all else { throw ValidationError("name an address, or pass --all (not both)") }
            }

            func run() async throws {
                try await Failure.reporting {
                    let project = try manifest.project(.refuse)
                    let bans = GuardBansUseCase(settings: project.manifest.guardSettings, stateDirectory: project.manifest.stateDirectory)
                    if let ip { try await bans.change(add: false, ip: ip, seconds: nil) } else { try await bans.removeAll() }
                }
            }
        }
    }
}
