import ArgumentParser
import Foundation
import GuardService
import Manifest
import Vocabulary

extension GuardCommand {
    struct Bans: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "bans", abstract: "List, add or remove bans of addresses and ranges.", subcommands: [List.self, Add.self, Remove.self])

        struct List: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                commandName: "list", abstract: "Active bans with offence count and remaining time.",
                discussion: "Without a manifest (none at -f, $SWIFTDEPLOY_MANIFEST or ./swiftdeploy.yaml), lists the store in --state-dir, by default the package's \(List.packageState).")
            @OptionGroup var manifest: ManifestOption
            @Option(help: "The guard's state directory, when no manifest names it.") var stateDir: String?
            @Flag(help: "JSON output.") var json = false

            static let packageState = "/var/lib/swiftdeploy"

            func run() async throws {
                try await Failure.reporting {
                    let bans: GuardBansUseCase
                    if stateDir != nil || !FileManager.default.fileExists(atPath: manifest.file) {
                        let directory = ManifestLoader.absolutePath(stateDir ?? Self.packageState, relativeTo: FileManager.default.currentDirectoryPath)
                        // Reading must not create a store as root: say where none was found, and what else was looked for.
                        guard GuardBansUseCase.hasState(in: directory) else {
                            throw ValidationError("no guard state in \(directory) and no manifest at \(manifest.file): pass --state-dir DIR or -f MANIFEST")
                        }
                        bans = GuardBansUseCase(settings: ManifestLoader.defaultGuard(stateDirectory: directory), stateDirectory: directory)
                    } else {
                        let project = try manifest.project(.refuse)
                        bans = GuardBansUseCase(settings: project.manifest.guardSettings, stateDirectory: project.manifest.stateDirectory)
                    }
                    try await bans.list(json: json)
                }
            }
        }

        struct Add: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                commandName: "add", abstract: "Ban an address or a range by hand.",
                discussion: "A range (10.0.0.0/8, 2001:db8::/32) is dropped by the kernel as one entry; a range inside a wider banned one is refused, a wider one takes the place of those inside it.")
            @OptionGroup var manifest: ManifestOption
            @Argument(help: "IP address or range (CIDR).") var ip: String
            @Option(help: "Ban length, e.g. 10m, or permanent.") var duration: String = "10m"
            @Option(help: "Why, as the audit log, `bans list` and the other edges will show it (default: manual).") var reason: String?

            func validate() throws {
                guard BanTarget(ip) != nil else { throw ValidationError("\(ip) is not an IP address or range (like 203.0.113.9, 10.0.0.0/8 or 2001:db8::/32)") }
                guard duration == "permanent" || DurationText.parse(duration) != nil else { throw ValidationError("--duration must be like 10m or permanent") }
                // As every edge will hold it: no control character, at most SharedDecision.maxText bytes.
                if let reason, reason.isEmpty || reason.utf8.count > 200 || SharedDecision.hasControlCharacters(reason) {
                    throw ValidationError("--reason must be 1 to 200 bytes of text without control characters")
                }
            }

            func run() async throws {
                try await Failure.reporting {
                    let project = try manifest.project(.refuse)
                    let seconds = duration == "permanent" ? nil : DurationText.parse(duration).map { Int($0.seconds) }
                    try await GuardBansUseCase(settings: project.manifest.guardSettings, stateDirectory: project.manifest.stateDirectory)
                        .change(add: true, target: ip, seconds: seconds, reason: reason)
                }
            }
        }

        struct Remove: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                commandName: "remove", abstract: "Lift a ban, every ban with --all, or those with --reason.")
            @OptionGroup var manifest: ManifestOption
            @Argument(help: "IP address or range, as `bans list` shows it.") var ip: String?
            @Flag(help: "Lift every ban in force on this edge.") var all = false
            @Option(help: "Lift every ban in force on this edge with this reason.") var reason: String?

            func validate() throws {
                guard [ip != nil, all, reason != nil].filter({ $0 }).count == 1 else {
                    throw ValidationError("name an address or range, or pass --all, or --reason REASON (one of them)")
                }
            }

            func run() async throws {
                try await Failure.reporting {
                    let project = try manifest.project(.refuse)
                    let bans = GuardBansUseCase(settings: project.manifest.guardSettings, stateDirectory: project.manifest.stateDirectory)
                    if let ip { try await bans.change(add: false, target: ip, seconds: nil) } else { try await bans.removeAll(reason: reason) }
                }
            }
        }
    }
}
