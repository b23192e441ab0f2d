import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Follows a log file like `tail -F`: starts at the end (or a saved position), survives rotation by
/// rename, copytruncate and plain truncation without losing or repeating a line, holds a partial last
/// line until it is complete, and waits for a file that does not exist yet. Call `poll()` whenever the
/// file may have changed (a `LogFollower` says when); it returns the complete lines written since the last call.
public final class LogTail: @unchecked Sendable {
    /// Where reading stands: the file's identity and the offset of the next unread byte.
    public struct Position: Sendable, Equatable, Codable {
        public var device: UInt64
        public var inode: UInt64
        public var offset: UInt64

        public init(device: UInt64, inode: UInt64, offset: UInt64) {
            self.device = device
            self.inode = inode
            self.offset = offset
        }
    }

    public let path: String
    private var fd: Int32 = -1
    private var identity: (device: UInt64, inode: UInt64)?
    private var offset: UInt64 = 0
    private var partial: [UInt8] = []
    private var startAtEnd: Bool
    private var resume: Position?
    private var buffer = [UInt8](repeating: 0, count: 1 << 16)

    /// - Parameters:
    ///   - startAtEnd: skip what the file already holds (a fresh daemon); a file that appears later is read from its start.
    ///   - resume: continue from a saved position when the file is still the same one.
    public init(path: String, startAtEnd: Bool = true, resume: Position? = nil) {
        self.path = path
        self.startAtEnd = startAtEnd
        self.resume = resume
    }

    deinit { if fd >= 0 { close(fd) } }

    /// The position after the last complete line returned.
    public var position: Position? {
        identity.map { Position(device: $0.device, inode: $0.inode, offset: offset - UInt64(partial.count)) }
    }

    /// Complete new lines (without their newline), oldest first.
    public func poll() -> [[UInt8]] {
        var lines: [[UInt8]] = []
        if fd < 0 && !open(fromStart: !startAtEnd) { return lines }
        let onDisk = fileIdentity(path)
        if let onDisk, let identity, onDisk.0 == identity.device, onDisk.1 == identity.inode, onDisk.2 < offset {
            // Truncated in place (copytruncate, or `> access.log`): what is there now is new.
            offset = 0
            partial.removeAll()
        }
        readAvailable(into: &lines)
        if let onDisk, let identity, onDisk.0 != identity.device || onDisk.1 != identity.inode {
            // Rotated by rename: finish the old file, then follow the new one from its start.
            readAvailable(into: &lines)
            if !partial.isEmpty { lines.append(partial); partial.removeAll() }
            close(fd)
            fd = -1
            self.identity = nil
            if open(fromStart: true) { readAvailable(into: &lines) }
        }
        return lines
    }

    private func open(fromStart: Bool) -> Bool {
        let opened = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard opened >= 0 else { startAtEnd = false; return false }  // appears later: read it whole
        var status = stat()
        fstat(opened, &status)
        fd = opened
        identity = (UInt64(status.st_dev), UInt64(status.st_ino))
        if let resume, resume.device == identity!.device, resume.inode == identity!.inode, resume.offset <= UInt64(status.st_size) {
            offset = resume.offset
        } else {
            offset = fromStart ? 0 : UInt64(status.st_size)
        }
        resume = nil
        startAtEnd = false
        return true
    }

    private func readAvailable(into lines: inout [[UInt8]]) {
        guard fd >= 0 else { return }
        while true {
            let count = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, off_t(offset)) }
            guard count > 0 else { return }
            offset += UInt64(count)
            var start = 0
            for index in 0..<count where buffer[index] == 0x0A {
                if partial.isEmpty {
                    lines.append(Array(buffer[start..<index]))
                } else {
                    partial.append(contentsOf: buffer[start..<index])
                    lines.append(partial)
                    partial.removeAll(keepingCapacity: true)
                }
                start = index + 1
            }
            if start < count { partial.append(contentsOf: buffer[start..<count]) }
        }
    }
}

/// (device, inode, size) of the file at `path` now; nil when there is none.
private func fileIdentity(_ path: String) -> (UInt64, UInt64, UInt64)? {
    var status = stat()
    guard stat(path, &status) == 0 else { return nil }
    return (UInt64(status.st_dev), UInt64(status.st_ino), UInt64(status.st_size))
}
