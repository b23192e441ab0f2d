/// Where use cases report progress: the terminal in the CLI, a buffer in tests.
public protocol Console: Sendable {
    func say(_ line: String, terminator: String)
    func warn(_ line: String)
}

extension Console {
    public func say(_ line: String) { say(line, terminator: "\n") }
}

/// Prints progress to stdout and warnings to stderr.
public struct TerminalConsole: Console {
    public init() {}
    public func say(_ line: String, terminator: String) { print(line, terminator: terminator) }
    public func warn(_ line: String) {
        var stderr = StandardError()
        print(line, to: &stderr)
    }
}

struct StandardError: TextOutputStream {
    mutating func write(_ string: String) {
        FileHandleWriter.write(string, to: 2)
    }
}

#if canImport(Glibc)
import Glibc
#endif

enum FileHandleWriter {
    static func write(_ string: String, to fd: Int32) {
        var bytes = Array(string.utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeMutableBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if written <= 0 { return }
            offset += written
        }
    }
}
