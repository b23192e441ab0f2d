#if canImport(Glibc)
import Glibc
#endif

/// Root becoming another user for good: supplementary groups, group, then user, all process-wide
/// (glibc applies set*id to every thread), and a check that root cannot come back. Used so that
/// root never acts in a folder another user can change: it acts as that user there, and the kernel
/// then refuses what that user could not do (read root's files, signal root's processes).
public enum Privileges {
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public let description: String
    }

    /// A user as the kernel knows it, with the name shown to people.
    public struct User: Sendable, Equatable {
        public let uid: uid_t
        public let gid: gid_t
        public let name: String

        /// The user with `uid` from the password database; `fallbackGroup` and `#uid` when it has no entry.
        public init(uid: uid_t, fallbackGroup: gid_t) {
            var entry = passwd()
            var result: UnsafeMutablePointer<passwd>?
            var buffer = [CChar](repeating: 0, count: 4096)
            if getpwuid_r(uid, &entry, &buffer, buffer.count, &result) == 0, result != nil, let name = entry.pw_name {
                (self.uid, gid, self.name) = (uid, entry.pw_gid, String(cString: name))
            } else {
                (self.uid, gid, self.name) = (uid, fallbackGroup, "#\(uid)")
            }
        }
    }

    /// Drops this root process to `user` for the rest of its life; throws if any step fails or if
    /// root could be regained (a process half dropped must not go on).
    public static func become(_ user: User) throws(Failure) {
        let groups = user.name.hasPrefix("#") ? setgroups(0, nil) : initgroups(user.name, user.gid)
        guard groups == 0, setgid(user.gid) == 0, setuid(user.uid) == 0 else {
            throw Failure(description: "could not become \(user.name) (uid \(user.uid)): \(String(cString: strerror(errno)))")
        }
        guard user.uid == 0 || (setuid(0) != 0 && geteuid() == user.uid && getegid() == user.gid) else {
            throw Failure(description: "became \(user.name) but root could be regained; stopping")
        }
    }
}
