import Foundation
import GuardStorage
import Manifest
import TestSupport
import Testing
import Vocabulary

@testable import GuardService

/// `guard bans` without a running daemon: a ban is decided by the same engine and shown as the
/// firewall holds it (IPv6 with its prefix); `remove --all` lifts every one.
@Suite struct ManualBans {
    /// A dry-run guard's bans in a new state directory, removed after `body`.
    func withBans(_ body: (GuardBansUseCase, BufferConsole, String) async throws -> Void) async throws {
        let directory = NSTemporaryDirectory() + "swiftdeploy-bans-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        FileManager.default.createFile(atPath: "\(directory)/access.log", contents: nil)
        let manifest = try ManifestLoader.parse(yaml: "name: bans\nservices:\n  app: { command: [x], port: 3000 }\nguard: { log: access.log, enforcer: dry-run }\n",
                                                file: "swiftdeploy.yaml", directory: directory)
        let console = BufferConsole()
        try await body(GuardBansUseCase(settings: manifest.guardSettings, stateDirectory: directory, console: console), console, directory)
    }

    func listed(_ bans: GuardBansUseCase, _ console: BufferConsole) async throws -> [ListedBan] {
        try await bans.list(json: true)
        return try JSONDecoder().decode([ListedBan].self, from: Data(try #require(console.said.last).utf8))
    }

    @Test func bansAreListedAsTheFirewallHoldsThemAndAllCanBeLifted() async throws {
        try await withBans { bans, console, directory in
            try await bans.change(add: true, target: "203.0.113.9", seconds: 600)
            try await bans.change(add: true, target: "2001:db8:1:2::9", seconds: nil)
            let shown = try await listed(bans, console)
            #expect(Set(shown.map(\.ip)) == ["203.0.113.9", "2001:db8:1:2::/64"], "\(shown)")
            #expect(try await bans.removeAll() == 2)
            #expect(try GuardStore(path: GuardStore.path(stateDirectory: directory)).bans().allSatisfy { ($0.until ?? Int.max) <= Int(Date().timeIntervalSince1970) })
        }
    }

    /// As cscli does: ranges of both families, the operator's reason, removal by reason, and a range
    /// inside a banned one refused with what to do.
    @Test func rangesAndReasonsAreBannedListedAndLiftedByReason() async throws {
        try await withBans { bans, console, directory in
            try await bans.change(add: true, target: "198.51.100.0/24", seconds: 600, reason: "scraper cohort")
            try await bans.change(add: true, target: "2001:db8::/32", seconds: nil, reason: "scraper cohort")
            try await bans.change(add: true, target: "203.0.113.9", seconds: 600)
            await #expect(throws: GuardCommandError.insideRange("198.51.100.128/25", range: "198.51.100.0/24")) {
                try await bans.change(add: true, target: "198.51.100.128/25", seconds: 60)
            }
            await #expect(throws: GuardCommandError.notAnAddress("10.0.0.0/40")) { try await bans.change(add: true, target: "10.0.0.0/40", seconds: 60) }
            let shown = try await listed(bans, console)
            #expect(Set(shown.map { "\($0.ip) \($0.reason)" }) == ["198.51.100.0/24 scraper cohort", "2001:db8::/32 scraper cohort", "203.0.113.9 manual"])
            #expect(try await bans.removeAll(reason: "scraper cohort") == 2)
            #expect(try await listed(bans, console).map(\.ip) == ["203.0.113.9"])
            // The package's unit keeps no manifest beside the store: `bans list` reads it with the defaults.
            let bare = GuardBansUseCase(settings: ManifestLoader.defaultGuard(stateDirectory: directory), stateDirectory: directory, console: console)
            #expect(try await listed(bare, console).map(\.ip) == ["203.0.113.9"])
        }
    }
}
