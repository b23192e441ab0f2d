import Deploy
import Foundation
import Spawn
import Vocabulary

/// The manifest a command works on, and whom root acts as there.
struct ManifestChoice {
    let file: String
    let trustManifest: Bool

    /// What root does with a project another user can change.
    enum Foreign { case becomeOwner, refuse }

    /// The project, loaded as the right user: as root on a project another user owns, this process
    /// first becomes that user (`.becomeOwner`, said on stderr) or refuses (`.refuse`, for the guard,
    /// which needs root); a project anyone may write is refused. `--trust-manifest` keeps root.
    func project(_ foreign: Foreign = .becomeOwner) throws -> Project {
        try settle([file], foreign)
        let project = try Project(file: file)
        try settle([project.manifest.stateDirectory], foreign)
        return project
    }

    /// Who a unit for this project runs as: its owner's name, or root.
    func owner() throws -> String {
        guard geteuid() == 0, !trustManifest else { return Privileges.User(uid: geteuid(), fallbackGroup: getegid()).name }
        let project = try Project(file: file)
        guard case .user(let uid, let gid) = try ProjectOwner.verdict(for: [file, project.manifest.stateDirectory]) else { return "root" }
        return Privileges.User(uid: uid, fallbackGroup: gid).name
    }

    private func settle(_ paths: [String], _ foreign: Foreign) throws {
        guard geteuid() == 0, !trustManifest, case .user(let uid, let gid) = try ProjectOwner.verdict(for: paths) else { return }
        let user = Privileges.User(uid: uid, fallbackGroup: gid)
        if foreign == .refuse {
            throw ProjectOwner.Refusal(description: "\(paths[0]) can be changed by \(user.name) (uid \(uid)), and the guard acts as root on what its manifest says; "
                + "keep the guard's manifest and state where only root can write (/etc/swiftdeploy, /var/lib/swiftdeploy), or pass --trust-manifest")
        }
        TerminalConsole().warn("swiftdeploy: acting as \(user.name), who can change \(paths[0]) (root does not act in another user's project; --trust-manifest keeps root)")
        try Privileges.become(user)
    }
}
