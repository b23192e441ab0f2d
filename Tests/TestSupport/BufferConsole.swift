import Synchronization
import Vocabulary

/// Collects what a use case says (and warns), for assertions.
public final class BufferConsole: Console {
    private let lines = Mutex([String]())

    public init() {}

    public func say(_ line: String, terminator: String) { lines.withLock { $0.append(line + terminator) } }
    public func warn(_ line: String) { lines.withLock { $0.append(line + "\n") } }
    /// Everything said, as one text.
    public var text: String { lines.withLock { $0.joined() } }
    /// Each thing said, without its terminator.
    public var said: [String] { text.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init) }
}
