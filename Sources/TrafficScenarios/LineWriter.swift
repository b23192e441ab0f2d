import Foundation

/// Generated access-log lines written to a file through a 1 MiB buffer (`guard evaluate
/// --write-log`, `guard bench write-log`).
public struct LineWriter {
    let handle: FileHandle
    var buffer = Data()

    public init(path: String) throws(LineWriterError) {
        guard FileManager.default.createFile(atPath: path, contents: nil), let handle = FileHandle(forWritingAtPath: path) else {
            throw LineWriterError(path: path)
        }
        self.handle = handle
    }

    public mutating func write(_ line: String) {
        buffer.append(contentsOf: line.utf8)
        buffer.append(0x0A)
        if buffer.count >= 1 << 20 { handle.write(buffer); buffer.removeAll(keepingCapacity: true) }
    }

    /// Whole lines, already newline-terminated.
    public mutating func append(_ lines: Data) {
        handle.write(buffer)
        buffer.removeAll(keepingCapacity: true)
        handle.write(lines)
    }

    public mutating func close() throws {
        handle.write(buffer)
        try handle.close()
    }
}

/// The file could not be created for writing.
public struct LineWriterError: Error, CustomStringConvertible {
    public let path: String
    public var description: String { "cannot write \(path): is its folder there and writable, and the disk not full?" }
}
