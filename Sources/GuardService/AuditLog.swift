import Foundation
import GuardStorage

#if canImport(Glibc)
import Glibc
#endif

/// The guard's audit log, one line per decision, appended by a root process in the guard's own
/// folder (`PrivateDirectory`): it is never followed through a symbolic link and must be a file of
/// the guard's user with no other name (a link to `/etc/passwd` must not make root append to it),
/// and a file it creates is readable by root only.
struct AuditLog {
    let path: String

    /// Why a line could not be appended.
    struct Failure: Error, CustomStringConvertible {
        let path: String
        let reason: String
        var description: String { "cannot append to the audit log \(path): \(reason)" }
    }

    func append(_ lines: [String]) throws(Failure) {
        guard !lines.isEmpty else { return }
        do { try PrivateDirectory.checkFile(path) } catch { throw Failure(path: path, reason: "it \(error.problem); \(error.fix)") }
        let descriptor = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            let reason = errno == ELOOP ? "it is a symbolic link (remove it; the guard writes the file itself)" : String(cString: strerror(errno))
            throw Failure(path: path, reason: reason)
        }
        defer { close(descriptor) }
        let bytes = Array(lines.map { $0 + "\n" }.joined().utf8)
        var written = 0
        while written < bytes.count {
            let count = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress! + written, $0.count - written) }
            guard count > 0 else { throw Failure(path: path, reason: String(cString: strerror(errno))) }
            written += count
        }
    }
}
