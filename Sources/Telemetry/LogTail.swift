import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Follows a log file like `tail -F`: starts at the end (or a saved position), survives rotation by
/// rename, copytruncate and plain truncation without losing or repeating a line, holds a partial last
/// line until it is complete, and waits for a file that does not exist yet. Call `poll()` whenever the
/// file may have changed (a `LogFollower` says when); it returns the complete lines written since the
/// last call, at most `maxRead` bytes of them, and `reachedEnd` says whether more is waiting.
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
    private var splitter = LineSplitter()
    /// Bytes read per `poll()` at most: after downtime, a big rotation or a burst the backlog comes
    /// in slices, not all at once into memory.
    public static let maxRead = 8 << 20
    /// Whether the last `poll()` read to the end of the file; false when it stopped at `maxRead` with
    /// more waiting (poll again without waiting for the file to change).
    public private(set) var reachedEnd = true
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
        identity.map { Position(device: $0.device, inode: $0.inode, offset: offset - UInt64(splitter.pending)) }
    }

    /// Complete new lines (without their newline), oldest first.
    public func poll() -> [[UInt8]] {
        var lines: [[UInt8]] = []
        reachedEnd = true
        if fd < 0 && !open(fromStart: !startAtEnd) { return lines }
        let onDisk = fileIdentity(path)
        if let onDisk, let identity, onDisk.0 == identity.device, onDisk.1 == identity.inode, onDisk.2 < offset {
            // Truncated in place (copytruncate, or `> access.log`): what is there now is new.
            offset = 0
            splitter.reset()
        }
        let finished = readAvailable(into: &lines)
        if finished, let onDisk, let identity, onDisk.0 != identity.device || onDisk.1 != identity.inode {
            // Rotated by rename, and the old file is read to its end: follow the new one from its start.
            if let last = splitter.flush() { lines.append(last) }
            close(fd)
            fd = -1
            self.identity = nil
            if open(fromStart: true) { reachedEnd = readAvailable(into: &lines) }
        } else {
            reachedEnd = finished
        }
        return lines
    }

    /// Bytes the file holds beyond what was read (0 while there is no file): how far behind the reader is.
    public var backlog: UInt64 {
        guard fd >= 0 else { return 0 }
        var status = stat()
        guard fstat(fd, &status) == 0 else { return 0 }
        let size = UInt64(max(0, status.st_size))
        return size > offset ? size - offset : 0
    }

    /// Why the log is not read although it exists (a link, not a regular file, or another name of
    /// some other file); nil while all is well.
    public private(set) var refusal: String?

    private func open(fromStart: Bool) -> Bool {
        let opened: Int32, status: stat
        switch LogFile.open(path) {
        case .opened(let descriptor, let found):
            (opened, status, refusal) = (descriptor, found, nil)
        case .refused(let reason):
            (refusal, startAtEnd) = (reason, false)
            return false
        case .absent, .failed:
            (refusal, startAtEnd) = (nil, false)
            return false  // appears later: read it whole
        }
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

    /// Reads what the file gained, up to `maxRead` bytes; true when it reached the end.
    private func readAvailable(into lines: inout [[UInt8]]) -> Bool {
        guard fd >= 0 else { return true }
        var read = 0
        while read < Self.maxRead {
            let count = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, off_t(offset)) }
            guard count > 0 else { return true }
            offset += UInt64(count)
            read += count
            buffer.withUnsafeBufferPointer { splitter.split(UnsafeBufferPointer(rebasing: $0[..<count]), into: &lines) }
        }
        return false
    }

    /// Lines dropped for being longer than a log line can be (`LineSplitter.maxLine`), counted as malformed.
    public var overlong: Int { splitter.overlong }
}

/// (device, inode, size) of the file at `path` now; nil when there is none.
private func fileIdentity(_ path: String) -> (UInt64, UInt64, UInt64)? {
    var status = stat()
    guard stat(path, &status) == 0 else { return nil }
    return (UInt64(status.st_dev), UInt64(status.st_ino), UInt64(status.st_size))
}
