import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A path and every folder above it up to `/`, each as `lstat` sees it (a link is a link, not what
/// it names): the one walk behind the checks root makes before it trusts a path (whom it acts as
/// in a project, which programs it runs).
public enum PathAncestry {
    /// One component that exists.
    public struct Step {
        public let path: String
        public let status: stat

        public var isLink: Bool { status.st_mode & S_IFMT == S_IFLNK }
        public var isFolder: Bool { status.st_mode & S_IFMT == S_IFDIR }
        /// A folder where only a file's owner may remove or rename it (`/tmp`).
        public var isSticky: Bool { isFolder && status.st_mode & S_ISVTX != 0 }
        /// The permission bits, as `chmod` writes them.
        public var mode: String { String(status.st_mode & 0o7777, radix: 8) }
    }

    /// `path` first, then each folder above it; components that do not exist are left out.
    public static func walk(_ path: String) -> [Step] {
        var steps: [Step] = []
        var current = path
        while true {
            var status = stat()
            if lstat(current, &status) == 0 { steps.append(Step(path: current, status: status)) }
            guard current != "/", !current.isEmpty else { return steps }
            current = (current as NSString).deletingLastPathComponent
        }
    }
}
