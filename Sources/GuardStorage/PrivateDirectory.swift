import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The folder of the guard's own state (store, audit log): created 0700 and used only when it is a
/// real directory owned by the user the guard runs as. The project's state directory is writable by
/// the deploy user and reachable by the app; whoever can write there could otherwise swap the files
/// root reads and writes for links to other files, or for files of their own.
public enum PrivateDirectory {
    /// Creates `path` (mode 0700, parents as needed) or checks the one there; tightens a wider mode
    /// of a directory this user owns.
    public static func prepare(_ path: String) throws(GuardStoreError) {
        let parent = (path as NSString).deletingLastPathComponent
        do {
            try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
        } catch {
            throw GuardStoreError(path: path, problem: "cannot create \(parent) (\(error.localizedDescription))",
                                  fix: "check the permissions of the state directory (state_dir in the manifest)")
        }
        if mkdir(path, 0o700) != 0 && errno != EEXIST {
            throw GuardStoreError(path: path, problem: "cannot create the guard's folder (\(String(cString: strerror(errno))))",
                                  fix: "check the permissions of the state directory (state_dir in the manifest)")
        }
        var status = stat()
        guard lstat(path, &status) == 0, status.st_mode & S_IFMT == S_IFDIR else {
            throw GuardStoreError(path: path, problem: "is not a directory (a link or a file stands there)",
                                  fix: "remove it; the guard creates its own folder, readable by its user only")
        }
        try ownedByMe(path, status)
        try parentIsSafe(parent, path)
        if status.st_mode & 0o077 != 0 { chmod(path, 0o700) }
    }

    /// The folder holding the guard's: whoever can write it can rename the guard's folder away and
    /// put a link in its place, and the guard would write its audit log and store wherever that
    /// leads. So it must belong to root or this user and be writable by nobody else (sticky, like
    /// /tmp, is fine: others cannot rename what is not theirs). Checked once, at start, and it holds:
    /// only its owner could loosen it.
    static func parentIsSafe(_ parent: String, _ path: String) throws(GuardStoreError) {
        var status = stat()
        guard stat(parent, &status) == 0 else { return }
        let sticky = status.st_mode & S_ISVTX != 0
        guard status.st_uid == 0 || status.st_uid == geteuid() else {
            throw GuardStoreError(path: path, problem: "sits in \(parent), which belongs to uid \(status.st_uid), who could replace the guard's folder with a link",
                                  fix: "keep the guard's state where only its user can write (the unit's /var/lib/swiftdeploy, or --state-dir)")
        }
        guard status.st_mode & 0o022 == 0 || sticky else {
            throw GuardStoreError(path: path, problem: "sits in \(parent), which others may write (mode \(String(status.st_mode & 0o777, radix: 8))), so they could replace the guard's folder with a link",
                                  fix: "`chmod go-w \(parent)`, or keep the guard's state elsewhere (--state-dir)")
        }
    }

    /// Checks a file of the folder before it is opened: a regular file of this user with no other
    /// name (a hard link to `/etc/shadow` has two), or nothing yet.
    public static func checkFile(_ path: String) throws(GuardStoreError) {
        var status = stat()
        guard lstat(path, &status) == 0 else { return }
        guard status.st_mode & S_IFMT == S_IFREG else {
            throw GuardStoreError(path: path, problem: "is not a regular file (a link, a pipe or a device)",
                                  fix: "remove it; the guard writes its own files in its folder")
        }
        try ownedByMe(path, status)
        guard status.st_nlink == 1 else {
            throw GuardStoreError(path: path, problem: "has \(status.st_nlink) names (a hard link to another file)",
                                  fix: "remove it; the guard writes its own files in its folder")
        }
    }

    private static func ownedByMe(_ path: String, _ status: stat) throws(GuardStoreError) {
        guard status.st_uid == geteuid() else {
            throw GuardStoreError(path: path, problem: "belongs to uid \(status.st_uid), not to uid \(geteuid()) the guard runs as",
                                  fix: "remove it, or `chown \(geteuid()) \(path)` if it is the guard's own; another user must not be able to change what the guard keeps")
        }
    }
}
