import ArgumentParser
import Foundation
import Deploy
import Manifest
import Policy
import Runtime
import Spawn
import Telemetry
import Vocabulary

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
