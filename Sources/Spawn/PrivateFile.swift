#if canImport(Glibc)
import Glibc
#endif

/// The one way files that hold secrets or evidence are written (keys, `stack.json`,
/// `history.jsonl`, reports): born with their final mode, never through a link, never half written.
/// A file is replaced by a temporary one created beside it with `O_CREAT|O_EXCL|O_NOFOLLOW` and the
/// mode (so no other user can read it even for an instant, and no planted file or link is reused),
/// given its owner on the descriptor, written, synced, and renamed inside the folder's own
/// descriptor (so a folder swapped for a link meanwhile is not followed).
public enum PrivateFile {
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public let path: String
        public let reason: String
        public var description: String { "cannot write \(path): \(reason)" }
    }

    /// Replaces `path` with `bytes`, mode `mode` (0600 by default), owned by `owner` when given.
    public static func replace(_ path: String, with bytes: [UInt8], mode: mode_t = 0o600, owner: (uid: uid_t, gid: gid_t)? = nil) throws(Failure) {
        let (folder, name) = split(path)
        let directory = open(folder, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard directory >= 0 else { throw failure(path, "cannot open its folder \(folder)") }
        defer { close(directory) }
        var random = SystemRandomNumberGenerator()
        let temporary = ".\(name).\(getpid()).\(String(random.next(), radix: 36)).tmp"
        let fd = openat(directory, temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode)
        guard fd >= 0 else { throw failure(path, "cannot create a temporary file beside it") }
        var written = false
        defer {
            close(fd)
            if !written { unlinkat(directory, temporary, 0) }
        }
        // The umask may have narrowed the mode; the descriptor gets exactly what was asked.
        guard fchmod(fd, mode) == 0 else { throw failure(path, "cannot set its mode") }
        if let owner, fchown(fd, owner.uid, owner.gid) != 0 { throw failure(path, "cannot give it to uid \(owner.uid)") }
        try writeAll(fd, bytes, path)
        guard fsync(fd) == 0 else { throw failure(path, "cannot sync it to disk") }
        guard renameat(directory, temporary, directory, name) == 0 else { throw failure(path, "cannot rename the temporary file to it") }
        written = true
    }

    /// Appends `bytes` to `path`, creating it with `mode` when absent; refuses a link, anything but
    /// a regular file, and a file with a second name (a hard link to someone else's file).
    public static func append(_ path: String, _ bytes: [UInt8], mode: mode_t = 0o600) throws(Failure) {
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, mode)
        guard fd >= 0 else { throw failure(path, errno == ELOOP ? "it is a symbolic link" : "cannot open it") }
        defer { close(fd) }
        var status = stat()
        guard fstat(fd, &status) == 0, status.st_mode & S_IFMT == S_IFREG, status.st_nlink == 1 else {
            throw Failure(path: path, reason: "it is not a regular file with one name; remove it")
        }
        try writeAll(fd, bytes, path)
    }

    private static func writeAll(_ fd: Int32, _ bytes: [UInt8], _ path: String) throws(Failure) {
        var offset = 0
        while offset < bytes.count {
            let count = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, bytes.count - offset) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { throw failure(path, errno == ENOSPC ? "the disk is full; free some space and run again" : "cannot write it") }
            offset += count
        }
    }

    static func split(_ path: String) -> (folder: String, name: String) {
        guard let slash = path.lastIndex(of: "/") else { return (".", path) }
        let folder = String(path[..<slash])
        return (folder.isEmpty ? "/" : folder, String(path[path.index(after: slash)...]))
    }

    private static func failure(_ path: String, _ what: String) -> Failure {
        Failure(path: path, reason: "\(what) (\(String(cString: strerror(errno))))")
    }
}
