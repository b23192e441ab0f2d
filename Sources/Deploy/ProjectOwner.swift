import Foundation
import Manifest
import Spawn

#if canImport(Glibc)
import Glibc
#endif

/// Whom root should act as in a project: root acts in a folder only as someone who could already
/// change it. A manifest says which commands run (hooks, services, nginx's prefix) and which files
/// are read and written; if another user can change the manifest or its folders, root following
/// it would run that user's commands as root and follow that user's links. So root becomes the
/// project's owner first, or refuses when nobody in particular owns it (a folder anyone can write).
public enum ProjectOwner {
    /// What root does with a project.
    public enum Verdict: Equatable, Sendable {
        /// Root and nobody else can change it: root acts as root.
        case root
        /// One other user can change it: root acts as that user.
        case user(uid: uid_t, gid: gid_t)
    }

    /// Why root will not act in a project at all.
    public struct Refusal: Error, Sendable, CustomStringConvertible {
        public let description: String
        public init(description: String) { self.description = description }
    }

    /// Decides from `paths` (a manifest, a state folder) and every folder above each: the owners
    /// of all of them other than root, and any that group or others may write. A folder above with
    /// the sticky bit (/tmp) is fine: others cannot replace what is in it; so is one writable by
    /// root's group. The project's own folders
    /// (the paths given, and the manifest's folder) must not be writable by group or others at all.
    /// A path that does not exist yet is judged by the folder it will be made in.
    public static func verdict(for paths: [String]) throws(Refusal) -> Verdict {
        var owners: [uid_t: (gid: gid_t, path: String)] = [:]
        for path in paths { try collect(ManifestLoader.absolutePath(path, relativeTo: FileManager.default.currentDirectoryPath), into: &owners) }
        switch owners.count {
        case 0: return .root
        case 1: return .user(uid: owners.first!.key, gid: owners.first!.value.gid)
        default:
            let list = owners.sorted { $0.key < $1.key }.map { "\($0.value.path) (uid \($0.key))" }.joined(separator: ", ")
            throw Refusal(description: "the project belongs to more than one user: \(list); root acts in a project only as the one user who can change it; give it one owner")
        }
    }

    /// Walks from `path` up to /, noting owners other than root and refusing what others may write.
    /// The path and the first existing folder at or above it are the project's own; a link's
    /// target is walked too.
    private static func collect(_ path: String, into owners: inout [uid_t: (gid: gid_t, path: String)]) throws(Refusal) {
        var own = true
        for step in PathAncestry.walk(path) {
            let status = step.status
            if step.isLink {
                let target = (step.path as NSString).resolvingSymlinksInPath
                if target != step.path { try collect(target, into: &owners) }
            } else {
                // Above the project, a sticky folder (/tmp) or one only root's group may write is fine.
                let othersWrite = status.st_mode & (status.st_gid == 0 && !own ? 0o002 : 0o022) != 0
                if othersWrite, own || !step.isSticky {
                    throw Refusal(description: "\(step.path) is writable by group or others (mode \(step.mode)), so others could change what root would run or write there; `chmod go-w \(step.path)`, or run as the project's owner")
                }
            }
            if status.st_uid != 0, owners[status.st_uid] == nil { owners[status.st_uid] = (status.st_gid, step.path) }
            if step.isFolder { own = false }
        }
    }
}
