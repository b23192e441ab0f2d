import Foundation
import Synchronization
import Runtime
import Telemetry
import Vocabulary

#if canImport(Glibc)
import Glibc
#endif

/// One change to a project's stack at a time (Kamal's deploy lock): every command that changes the
/// stack holds `<state_dir>/deploy.lock` while it runs. The kernel holds the lock (`flock`), so a
/// holder that crashes or is killed releases it by ending: no stale lock to clean up by hand. Who
/// holds it (pid, command, start) is written beside it, so a refusal names the holder.
public final class ProjectLock: @unchecked Sendable {
    /// Who holds (or last held) the lock.
    public struct Holder: Codable, Sendable, Equatable {
        public var pid: Int32
        public var command: String
        /// Unix seconds it was taken.
        public var since: Int
        public var host: String

        public init(pid: Int32, command: String, since: Int, host: String) {
            (self.pid, self.command, self.since, self.host) = (pid, command, since, host)
        }

        /// `pid 12 on web-1 (`swiftdeploy deploy`, started …, 8 s ago)`.
        public func described(now: Int) -> String {
            "pid \(pid) on \(host) (`swiftdeploy \(command)`, started \(ISO8601.format(since)), \(Duration.seconds(max(0, now - since)).readable) ago)"
        }
    }

    public enum State: Sendable, Equatable {
        case held(Holder)
        /// Nobody holds it; the last holder, if one is recorded, has ended.
        case free(lastHolder: Holder?)
    }

    /// The open lock file while held; -1 once released, so a release is done once (a second
    /// close could end a descriptor the process has since opened for something else).
    private let fd: Mutex<Int32>
    public let path: String

    private init(fd: Int32, path: String) {
        self.fd = Mutex(fd)
        self.path = path
    }

    deinit { release() }

    public static func path(stateDirectory: String) -> String { "\(stateDirectory)/deploy.lock" }

    /// Takes the lock for `command`, or throws naming who holds it; with `wait`, waits for it
    /// (saying once whom it waits for), checking every 100 ms.
    public static func acquire(stateDirectory: String, command: String, wait: Bool = false,
                               console: any Console = TerminalConsole()) async throws -> ProjectLock {
        try FileWriter.makeDirectory(stateDirectory)
        let path = path(stateDirectory: stateDirectory)
        // O_CLOEXEC: a process the command starts (nginx, the app) must never inherit the lock.
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else { throw LockError.unusable(path, String(cString: strerror(errno))) }
        var said = false
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let now = Int(Date().timeIntervalSince1970)
            let holder = Self.recorded(fd: fd)
            guard wait else {
                close(fd)
                throw LockError.held(holder?.described(now: now) ?? "another swiftdeploy command", path)
            }
            if !said {
                console.say("lock: waiting for \(holder?.described(now: now) ?? "another swiftdeploy command")")
                said = true
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        let holder = Holder(pid: getpid(), command: command, since: Int(Date().timeIntervalSince1970), host: ProcessInfo.processInfo.hostName)
        let record = Array(holder.jsonLine.utf8) + [UInt8(ascii: "\n")]
        guard ftruncate(fd, 0) == 0, pwrite(fd, record, record.count, 0) == record.count else {
            close(fd)
            throw LockError.unusable(path, String(cString: strerror(errno)))
        }
        return ProjectLock(fd: fd, path: path)
    }

    /// Whether the lock is held now, and by whom.
    public static func state(stateDirectory: String) throws -> State {
        let path = path(stateDirectory: stateDirectory)
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else {
            if errno == ENOENT { return .free(lastHolder: nil) }
            throw LockError.unusable(path, String(cString: strerror(errno)))
        }
        defer { close(fd) }
        let holder = recorded(fd: fd)
        if flock(fd, LOCK_SH | LOCK_NB) == 0 {
            flock(fd, LOCK_UN)
            return .free(lastHolder: holder)
        }
        return .held(holder ?? Holder(pid: 0, command: "?", since: 0, host: "?"))
    }

    /// Forgets the record a holder left behind when it ended; refuses while the lock is held (the
    /// kernel releases it when its holder ends, so ending the holder is the way).
    public static func release(stateDirectory: String) throws -> Holder? {
        switch try state(stateDirectory: stateDirectory) {
        case .held(let holder):
            throw LockError.stillHeld(holder.described(now: Int(Date().timeIntervalSince1970)), holder.pid)
        case .free(let last):
            try? FileManager.default.removeItem(atPath: path(stateDirectory: stateDirectory))
            return last
        }
    }

    /// Ends this hold (also when the process ends, however it ends).
    public func release() {
        let held = fd.withLock { fd in
            defer { fd = -1 }
            return fd
        }
        guard held >= 0 else { return }
        flock(held, LOCK_UN)
        close(held)
    }

    static func recorded(fd: Int32) -> Holder? {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = pread(fd, &buffer, buffer.count, 0)
        guard count > 0 else { return nil }
        return try? JSONDecoder().decode(Holder.self, from: Data(buffer[0..<count]))
    }
}

extension Stack {
    /// Runs a change to the stack while holding the project's lock; its announcements are sent
    /// (or given up on) before it returns.
    public func changing<T>(_ command: String, wait: Bool, _ body: () async throws -> T) async throws -> T {
        let lock = try await ProjectLock.acquire(stateDirectory: manifest.stateDirectory, command: command, wait: wait, console: console)
        defer { lock.release() }
        do {
            let result = try await body()
            await history.notices?.flush()
            return result
        } catch {
            // A change that failed part-way is evidence too (a policy's no is already on record).
            if !(error is PolicyBlocked) { try? history.record(.failure, ["command": .string(command), "error": .string("\(error)")]) }
            await history.notices?.flush()
            throw error
        }
    }
}

/// Why a command could not take the project's lock.
public enum LockError: Error, Equatable, CustomStringConvertible {
    case held(String, String)
    case stillHeld(String, Int32)
    case unusable(String, String)

    /// Another command holds the lock (not a broken lock file).
    public var isHeld: Bool {
        switch self {
        case .held, .stillHeld: true
        case .unusable: false
        }
    }

    public var description: String {
        switch self {
        case .held(let holder, _):
            "another command is changing this stack: \(holder); run again when it ends, or add --wait to queue (swiftdeploy lock status)"
        case .stillHeld(let holder, let pid):
            "the lock is held by \(holder); it is released when that command ends (stop it with kill \(pid) if it hangs)"
        case .unusable(let path, let reason):
            "cannot use the lock file \(path): \(reason) (check state_dir's permissions)"
        }
    }
}
