#if canImport(Glibc)
import Glibc
#endif

/// The one way a file that holds a secret is read (`env_file`, `guard.shared.password_file`):
/// opened without following a link, and read only when it is a regular file of root or of this user
/// that nobody else may read. A link or another user's file would let its owner choose what is
/// read (and, for root, sent on); a file others may read has already given the secret away.
public enum SecretFile {
    /// The file's bytes (at most `limit`), checked on the descriptor that reads them.
    public static func read(_ path: String, limit: Int = 1 << 20) throws(SecretFileError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else {
            switch errno {
            case ELOOP: throw SecretFileError(path: path, problem: "is a symbolic link; name the file itself")
            case ENOENT: throw SecretFileError(path: path, problem: "does not exist")
            default: throw SecretFileError(path: path, problem: "cannot be opened (\(String(cString: strerror(errno))))")
            }
        }
        defer { close(fd) }
        var status = stat()
        guard fstat(fd, &status) == 0, status.st_mode & S_IFMT == S_IFREG else {
            throw SecretFileError(path: path, problem: "is not a regular file (a folder, a pipe or a device is refused)")
        }
        guard status.st_uid == 0 || status.st_uid == geteuid() else {
            throw SecretFileError(path: path, problem: "belongs to another user (uid \(status.st_uid)); it must be yours or root's: `chown` it")
        }
        guard status.st_mode & 0o077 == 0 else {
            throw SecretFileError(path: path, problem: "may be read by others (mode \(String(status.st_mode & 0o777, radix: 8))); it holds secrets: chmod 600 \(path)")
        }
        var bytes = [UInt8](repeating: 0, count: limit)
        var filled = 0
        while filled < limit {
            let count = bytes.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + filled, limit - filled) }
            if count < 0, errno == EINTR { continue }
            guard count >= 0 else { throw SecretFileError(path: path, problem: "cannot be read (\(String(cString: strerror(errno))))") }
            if count == 0 { break }
            filled += count
        }
        return Array(bytes.prefix(filled))
    }
}

/// A secret file that cannot be used: which, and what to do (never its contents).
public struct SecretFileError: Error, Sendable, CustomStringConvertible {
    public let path: String
    public let problem: String
    public var description: String { "\(path) \(problem)" }
}
