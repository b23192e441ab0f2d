import Foundation
import Testing

@testable import Deploy

/// Whom root acts as in a project (`ProjectOwner`), judged on real folders with real owners
/// (these tests run as root, as CI does; they give folders to `nobody`).
@Suite struct ProjectOwnerRules {
    let nobody: uid_t = 65534, nogroup: gid_t = 65534

    private func folder(_ mode: mode_t = 0o755, owner: uid_t = 0) throws -> String {
        let path = NSTemporaryDirectory() + "swiftdeploy-owner-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
        chmod(path, mode)
        chown(path, owner, owner == 0 ? 0 : nogroup)
        try "name: shop\n".write(toFile: "\(path)/swiftdeploy.yaml", atomically: true, encoding: .utf8)
        return path
    }

    @Test func rootsOwnProjectIsActedOnAsRoot() throws {
        try #require(geteuid() == 0, "needs root, as CI runs it")
        let project = try folder()
        defer { try? FileManager.default.removeItem(atPath: project) }
        // /tmp above it is writable by all but sticky: others cannot replace what is in it.
        #expect(try ProjectOwner.verdict(for: ["\(project)/swiftdeploy.yaml", "\(project)/.swiftdeploy"]) == .root)
    }

    @Test func anotherUsersFolderOrManifestMakesRootActAsThatUser() throws {
        try #require(geteuid() == 0)
        let theirs = try folder(owner: nobody), mine = try folder()
        defer { for path in [theirs, mine] { try? FileManager.default.removeItem(atPath: path) } }
        #expect(try ProjectOwner.verdict(for: ["\(theirs)/swiftdeploy.yaml"]) == .user(uid: nobody, gid: nogroup))
        chown("\(mine)/swiftdeploy.yaml", nobody, nogroup)
        #expect(try ProjectOwner.verdict(for: ["\(mine)/swiftdeploy.yaml"]) == .user(uid: nobody, gid: nogroup), "whoever can change the manifest")
        chown("\(mine)/swiftdeploy.yaml", 0, 0)
        // A state folder another user made, or a manifest that is a link into their folder.
        try FileManager.default.createDirectory(atPath: "\(mine)/.swiftdeploy", withIntermediateDirectories: false)
        chown("\(mine)/.swiftdeploy", nobody, nogroup)
        #expect(try ProjectOwner.verdict(for: ["\(mine)/swiftdeploy.yaml", "\(mine)/.swiftdeploy"]) == .user(uid: nobody, gid: nogroup))
        try FileManager.default.removeItem(atPath: "\(mine)/.swiftdeploy")
        try FileManager.default.removeItem(atPath: "\(mine)/swiftdeploy.yaml")
        try FileManager.default.createSymbolicLink(atPath: "\(mine)/swiftdeploy.yaml", withDestinationPath: "\(theirs)/swiftdeploy.yaml")
        #expect(try ProjectOwner.verdict(for: ["\(mine)/swiftdeploy.yaml"]) == .user(uid: nobody, gid: nogroup), "the link's target decides")
    }

    @Test func aProjectAnyoneMayWriteOrTwoUsersShareIsRefused() throws {
        try #require(geteuid() == 0)
        let open = try folder(0o1777), shared = try folder(owner: nobody)
        defer { for path in [open, shared] { try? FileManager.default.removeItem(atPath: path) } }
        #expect { try ProjectOwner.verdict(for: ["\(open)/swiftdeploy.yaml"]) } throws: {
            "\($0)".contains("\(open) is writable by group or others (mode 1777)") && "\($0)".contains("chmod go-w")
        }
        chmod("\(shared)/swiftdeploy.yaml", 0o666)
        #expect { try ProjectOwner.verdict(for: ["\(shared)/swiftdeploy.yaml"]) } throws: { "\($0)".contains("swiftdeploy.yaml is writable by group or others") }
        chmod("\(shared)/swiftdeploy.yaml", 0o644)
        chown("\(shared)/swiftdeploy.yaml", 1, 1)
        #expect { try ProjectOwner.verdict(for: ["\(shared)/swiftdeploy.yaml"]) } throws: { "\($0)".contains("belongs to more than one user") }
    }

    @Test func aStateFolderNotYetMadeIsJudgedByWhereItWillBeMade() throws {
        try #require(geteuid() == 0)
        let theirs = try folder(owner: nobody)
        defer { try? FileManager.default.removeItem(atPath: theirs) }
        #expect(try ProjectOwner.verdict(for: ["\(theirs)/state/not/yet"]) == .user(uid: nobody, gid: nogroup))
    }
}
