#if canImport(Glibc)
import Glibc
#endif

/// Cuts bytes into lines as they arrive, holding a partial last line until its newline comes. A
/// line longer than `maxLine` is nobody's log line (a runaway writer, or a file that is not a log):
/// it is dropped, up to its newline, and counted, so memory stays bounded whatever the file holds.
public struct LineSplitter: Sendable {
    public let maxLine: Int
    /// Lines dropped for being longer than `maxLine`.
    public private(set) var overlong = 0
    private var partial: [UInt8] = []
    /// Inside an over-long line: skip to its newline.
    private var skipping = false

    public init(maxLine: Int = 64 * 1024) { self.maxLine = maxLine }

    /// The one way lines are found, for the tail, replay and the canary's window: the next newline
    /// at or after `start`, with `memchr` (many bytes at a time; a flood is read 8 MiB at once).
    static func newline(in bytes: UnsafeBufferPointer<UInt8>, from start: Int) -> Int? {
        guard start < bytes.count, let base = bytes.baseAddress, let found = memchr(base + start, 0x0A, bytes.count - start) else { return nil }
        return base.distance(to: found.assumingMemoryBound(to: UInt8.self))
    }

    /// Calls `body` with each complete, non-empty line of `bytes` (without its newline) where it
    /// lies, copying nothing; returns the bytes used (a partial last line is left to the caller).
    public static func lines(in bytes: UnsafeBufferPointer<UInt8>, _ body: (UnsafeBufferPointer<UInt8>) -> Void) -> Int {
        var start = 0
        while let newline = newline(in: bytes, from: start) {
            if newline > start { body(UnsafeBufferPointer(rebasing: bytes[start..<newline])) }
            start = newline + 1
        }
        return start
    }

    /// Appends to `lines` every line `bytes` completes (without its newline), holding a partial last
    /// line for the next call.
    public mutating func split(_ bytes: UnsafeBufferPointer<UInt8>, into lines: inout [[UInt8]]) {
        var start = 0
        while let index = Self.newline(in: bytes, from: start) {
            let piece = bytes[start..<index]
            if skipping {
                skipping = false
            } else if partial.count + piece.count > maxLine {
                overlong += 1
            } else if partial.isEmpty {
                lines.append(Array(piece))
            } else {
                partial.append(contentsOf: piece)
                lines.append(partial)
            }
            partial.removeAll(keepingCapacity: partial.count <= 4096)
            start = index + 1
        }
        guard start < bytes.count, !skipping else { return }
        if partial.count + (bytes.count - start) > maxLine {
            overlong += 1
            skipping = true
            partial.removeAll()
        } else {
            partial.append(contentsOf: bytes[start...])
        }
    }

    /// The partial last line, given up (the file it came from is done with); nil when there is none.
    public mutating func flush() -> [UInt8]? {
        defer { partial.removeAll(); skipping = false }
        return partial.isEmpty ? nil : partial
    }

    /// Bytes held for a line not yet complete (a saved position rewinds by this much).
    public var pending: Int { partial.count }

    /// Forgets a partial line (the file was truncated under it).
    public mutating func reset() { partial.removeAll(); skipping = false }
}
