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
    @Test func bansAreListedAsTheFirewallHoldsThemAndAllCanBeLifted() async throws {
        let directory = NSTemporaryDirectory() + "swiftdeploy-bans-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        FileManager.default.createFile(atPath: "\(directory)/access.log", contents: nil)
        let manifest = try ManifestLoader.parse(yaml: "name: bans\nservices:\n  app: { command: [x], port: 3000 }\nguard: { log: access.log, enforcer: dry-run }\n",
                                                file: "swiftdeploy.yaml", directory: directory)
        let console = BufferConsole()
        let bans = GuardBansUseCase(settings: manifest.guardSettings, stateDirectory: directory, console: console)
        try await bans.change(add: true, ip: "203.0.113.9", seconds: 600)
        try await bans.change(add: true, ip: "2001:db8:1:2::9", seconds: nil)
        try await bans.list(json: true)
        let listed = try JSONDecoder().decode([ListedBan].self, from: Data(try #require(console.said.last).utf8))
        #expect(Set(listed.map(\.ip)) == ["203.0.113.9", "2001:db8:1:2::/64"], "\(listed)")
        #expect(try await bans.removeAll() == 2)
        #expect(try GuardStore(path: GuardStore.path(stateDirectory: directory)).bans().allSatisfy { ($0.until ?? Int.max) <= Int(Date().timeIntervalSince1970) })
    }
}
