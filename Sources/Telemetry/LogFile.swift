#if canImport(Glibc)
import Glibc
#endif

/// A log file opened the way the guard reads one: never through a link (whoever can write the log's
/// folder could point it at `/etc/shadow` and have root read it), only a regular file with one name.
/// `LogTail` follows it; `lastLines` reads its end for `swiftdeploy validate`.
public enum LogFile {
    /// Why the end of a log could not be read, with what to do.
    public enum Failure: Error, Equatable, CustomStringConvertible {
        /// The guard would refuse this file too.
        case refused(String)
        case unreadable(path: String, reason: String)

        public var description: String {
            switch self {
            case .refused(let reason): reason
            case .unreadable(let path, let reason): "cannot read \(path): \(reason) (run as a user who may read it, as the guard runs as root)"
            }
        }
    }

    enum Opening {
        case opened(descriptor: Int32, status: stat)
        /// No such file (yet), or it could not be opened for another reason (`errno`'s text).
        case absent
        case failed(String)
        case refused(String)
    }

    /// Opens `path` for reading, non-blocking (a pipe put there cannot hang the open).
    static func open(_ path: String) -> Opening {
        let descriptor = Glibc.open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)
        guard descriptor >= 0 else {
            switch errno {
            case ELOOP: return .refused("\(path) is a symbolic link; the guard reads only the file itself (point guard.log at it)")
            case ENOENT: return .absent
            default: return .failed(String(cString: strerror(errno)))
            }
        }
        var status = stat()
        fstat(descriptor, &status)
        if let refusal = refusal(of: status, path: path) {
            close(descriptor)
            return .refused(refusal)
        }
        return .opened(descriptor: descriptor, status: status)
    }

    /// Why a file opened as the log is not one nginx writes: the log is a regular file with one name
    /// (a hard link to `/etc/shadow` has two). Its owner is not judged: Debian's nginx writes as
    /// www-data into a root folder, and whatever a stranger's file holds, the stranger could have sent
    /// through nginx anyway; what must never be read is some other file, which these checks and
    /// `O_NOFOLLOW` refuse.
    static func refusal(of status: stat, path: String) -> String? {
        guard status.st_mode & S_IFMT == S_IFREG else {
            return "\(path) is not a regular file (a pipe, a device or a folder); the guard reads nginx's log file only"
        }
        guard status.st_nlink == 1 else {
            return "\(path) has \(status.st_nlink) names (a hard link to another file); point guard.log at nginx's own log file"
        }
        return nil
    }

    /// The last complete lines of the log (at most `count`, from at most its last `bytes`), oldest
    /// first; nil when there is no file (a fresh host: nginx writes it once it serves).
    public static func lastLines(of path: String, bytes: Int = 64 << 10, count: Int = 200) throws(Failure) -> [[UInt8]]? {
        let descriptor: Int32, size: Int
        switch open(path) {
        case .absent: return nil
        case .failed(let reason): throw .unreadable(path: path, reason: reason)
        case .refused(let reason): throw .refused(reason)
        case .opened(let opened, let status): (descriptor, size) = (opened, Int(status.st_size))
        }
        defer { close(descriptor) }
        let start = max(0, size - bytes)
        var buffer = [UInt8](repeating: 0, count: size - start)
        var filled = 0
        while filled < buffer.count {
            let read = buffer.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress! + filled, $0.count - filled, off_t(start + filled)) }
            guard read >= 0 else { throw .unreadable(path: path, reason: String(cString: strerror(errno))) }
            if read == 0 { break }
            filled += read
        }
        var lines = buffer[..<filled].split(separator: 0x0A, omittingEmptySubsequences: false).map(Array.init)
        lines.removeLast()  // after the last newline: empty, or a line nginx is still writing
        if start > 0, !lines.isEmpty { lines.removeFirst() }  // begins mid-line
        return Array(lines.filter { !$0.isEmpty }.suffix(count))
    }
}
