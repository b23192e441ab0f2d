import CSpawn
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Why a process could not be started or managed; says what to do about it.
public struct ProcessError: Error, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Starting and signalling detached child processes: each gets its own session (so a Ctrl-C in
/// the terminal that ran `swiftdeploy` does not kill the stack) and writes to a log file.
public enum ChildProcess {
    /// Finds `program` on PATH or beside the running executable (so `swiftdeploy-demo` built next
    /// to `swiftdeploy` is found without installing it).
    /// Run as root, only a program that root alone can change is run (see `checkRootOnly`).
    public static func resolve(_ program: String, extraDirectories: [String] = []) throws(ProcessError) -> String {
        if program.contains("/") {
            guard FileManager.default.isExecutableFile(atPath: program) else {
                throw ProcessError("\(program) is not an executable file")
            }
            try checkRootOnly(program)
            return program
        }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        let directories = path.split(separator: ":").map(String.init) + ["/usr/sbin", "/sbin"] + extraDirectories + [executableDirectory]
        for directory in directories {
            let candidate = (directory as NSString).appendingPathComponent(program)
            if FileManager.default.isExecutableFile(atPath: candidate) {
                try checkRootOnly(candidate)
                return candidate
            }
        }
        throw ProcessError("\(program): command not found (looked in PATH and \(executableDirectory)); install it or give its full path")
    }

    /// Where the system's own tools live (firewall tools among them).
    public static let systemDirectories = ["/usr/sbin", "/sbin", "/usr/bin", "/bin"]

    /// `program` from `directories` only (a name with a slash is taken as it is).
    public static func resolve(_ program: String, in directories: [String]) throws(ProcessError) -> String {
        if program.contains("/") { return try resolve(program) }
        for directory in directories {
            let candidate = (directory as NSString).appendingPathComponent(program)
            if FileManager.default.isExecutableFile(atPath: candidate) {
                try checkRootOnly(candidate)
                return candidate
            }
        }
        throw ProcessError("\(program): not found in \(directories.joined(separator: ", ")); install it (scripts/setup.sh does)")
    }

    /// When this process is root, refuses a program that anyone but root could have changed: the
    /// file, the file a link leads to, and every folder above them must belong to root and not be
    /// writable by group or others (a sticky folder such as /tmp is fine: others cannot replace a
    /// root file in it). A manifest's `nginx.binary` in a deploy user's home would otherwise run
    /// that user's code as root (the sudo/OpenSSH rule for what root executes).
    /// A program in the running binary's own folder is trusted as that binary is (`swiftdeploy-demo`
    /// beside a `swiftdeploy` built in a user's checkout): whoever could change it could change the
    /// binary root is already running.
    public static func checkRootOnly(_ program: String) throws(ProcessError) {
        guard geteuid() == 0 else { return }
        let absolute = program.hasPrefix("/") ? program : FileManager.default.currentDirectoryPath + "/" + program
        let real = (absolute as NSString).resolvingSymlinksInPath
        let ownFolder = (executableDirectory as NSString).resolvingSymlinksInPath
        guard (real as NSString).deletingLastPathComponent != ownFolder else { return }
        for step in Set([absolute, real]).flatMap(PathAncestry.walk) where !step.isLink {
            let problem = step.status.st_uid != 0 ? "belongs to uid \(step.status.st_uid)"
                : step.status.st_mode & 0o022 != 0 && !step.isSticky ? "is writable by group or others" : nil
            if let problem {
                throw ProcessError("refusing to run \(program) as root: \(step.path) \(problem), so someone other than root could change what runs; use the system's package (e.g. /usr/sbin/nginx), or `chown root` and `chmod go-w` the program and its folders")
            }
        }
    }

    /// The running executable.
    public static var executablePath: String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }

    /// Directory of the running executable.
    public static var executableDirectory: String { (executablePath as NSString).deletingLastPathComponent }

    /// Starts `arguments` detached (new session), stdout and stderr appended to `logFile`; returns the pid.
    public static func spawn(
        _ arguments: [String], environment: [String: String] = [:], logFile: String
    ) throws(ProcessError) -> pid_t {
        let fd = open(logFile, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw ProcessError("cannot open log file \(logFile): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let pid = try start(arguments, environment: environment, output: fd)
        reapInBackground(pid)
        return pid
    }

    /// Starts `arguments` with no input and its output and errors into `output`.
    private static func start(_ arguments: [String], environment: [String: String], output: Int32) throws(ProcessError) -> pid_t {
        let executable = try resolve(arguments[0])
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, output, 1)
        posix_spawn_file_actions_adddup2(&actions, output, 2)
        return try start(executable, arguments, environment: environment, actions: &actions)
    }

    /// Runs a command for at most `limit`: its exit status (nil when it was still running at the
    /// limit, and was killed with everything it started) and its combined output.
    public static func run(_ arguments: [String], environment: [String: String] = [:], limit: Duration) async throws(ProcessError)
        -> (status: Int32?, output: String) {
        let log = NSTemporaryDirectory() + "swiftdeploy-run-\(getpid())-\(UInt32.random(in: 0..<UInt32.max)).log"
        let fd = open(log, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw ProcessError("cannot create \(log): \(String(cString: strerror(errno)))") }
        defer { unlink(log) }
        let started: Result<pid_t, ProcessError> = Result { () throws(ProcessError) in try start(arguments, environment: environment, output: fd) }
        close(fd)
        let pid = try started.get()
        // Watched from a thread of its own: a busy concurrency pool must not stretch the limit.
        let (exited, status) = await withCheckedContinuation { (continuation: CheckedContinuation<(Bool, Int32), Never>) in
            Thread.detachNewThread {
                let deadline = ContinuousClock.now + limit
                var status: Int32 = 0
                while ContinuousClock.now < deadline {
                    if waitpid(pid, &status, WNOHANG) == pid { return continuation.resume(returning: (true, status)) }
                    usleep(10_000)
                }
                kill(-pid, SIGKILL)  // its own session: whatever it started goes too
                while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
                continuation.resume(returning: (false, status))
            }
        }
        let output = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        guard exited else { return (nil, output) }
        return ((status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f), output)
    }

    /// Runs a command to completion and returns its exit status and combined output; `input`, when
    /// given, is written to its stdin (`nft -f -` reads its script there), otherwise stdin is empty.
    public static func run(
        _ arguments: [String], environment: [String: String] = [:], input: String? = nil
    ) throws(ProcessError) -> (status: Int32, output: String) {
        let result = try execute(arguments, environment: environment, input: input, directory: nil, separateErrors: false)
        return (result.status, result.output)
    }

    /// Runs a command to completion in `directory` with its output and its errors kept apart (for a
    /// caller that parses the output); stdin is empty.
    public static func capture(
        _ arguments: [String], environment: [String: String] = [:], in directory: String? = nil
    ) throws(ProcessError) -> (status: Int32, output: String, errors: String) {
        try execute(arguments, environment: environment, input: nil, directory: directory, separateErrors: true)
    }

    private static func execute(
        _ arguments: [String], environment: [String: String], input: String?, directory: String?, separateErrors: Bool
    ) throws(ProcessError) -> (status: Int32, output: String, errors: String) {
        let executable = try resolve(arguments[0])
        let output = try makePipe()
        var pipes = [output.read, output.write]
        let stdin: (read: Int32, write: Int32)?, errors: (read: Int32, write: Int32)?
        do {
            stdin = try input.map { _ throws(ProcessError) in try makePipe() }
            errors = separateErrors ? try makePipe() : nil
        } catch {
            pipes.forEach { close($0) }
            throw error
        }
        pipes += [stdin?.read, stdin?.write, errors?.read, errors?.write].compactMap { $0 }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if let stdin {
            posix_spawn_file_actions_adddup2(&actions, stdin.read, 0)
        } else {
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        }
        posix_spawn_file_actions_adddup2(&actions, output.write, 1)
        posix_spawn_file_actions_adddup2(&actions, errors?.write ?? output.write, 2)
        if let directory { cspawn_addchdir(&actions, directory) }
        let pid: pid_t
        do {
            pid = try start(executable, arguments, environment: environment, actions: &actions)
        } catch {
            pipes.forEach { close($0) }
            throw error
        }
        // Only the child keeps these ends, so our reads see EOF when it exits.
        close(output.write)
        if let errors { close(errors.write) }
        if let stdin, let input {
            close(stdin.read)
            feed(input, into: stdin.write)
        }
        // The errors are read on a thread of their own so neither pipe fills up and blocks the child.
        let errorText = errors.map { readInBackground($0.read) }
        let text = readToEnd(output.read)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        // The exit code, or 128 + the signal that ended it (as a shell reports it).
        return (status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + status & 0x7f, text, errorText?.wait() ?? "")
    }

    /// posix_spawn with what every child gets: its own session, default signal handling, an
    /// unblocked signal mask (a test thread's blocked signals are not inherited) and no descriptor
    /// of ours beyond 0-2 (a caller's pipe would never see EOF). `actions` set up 0, 1 and 2.
    private static func start(
        _ executable: String, _ arguments: [String], environment: [String: String], actions: inout posix_spawn_file_actions_t
    ) throws(ProcessError) -> pid_t {
        cspawn_addclosefrom(&actions, 3)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var signals = sigset_t()
        sigemptyset(&signals)
        posix_spawnattr_setsigmask(&attributes, &signals)
        var defaults = sigset_t()
        sigfillset(&defaults)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, cspawn_setsid_flag() | Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var merged = ProcessInfo.processInfo.environment
        for (key, value) in environment { merged[key] = value }
        let argv = arguments.enumerated().map { strdup($0.offset == 0 ? executable : $0.element) } + [nil]
        let envp = merged.sorted { $0.key < $1.key }.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        guard result == 0 else { throw ProcessError("cannot start \(executable): \(String(cString: strerror(result)))") }
        return pid
    }

    /// A pipe whose ends are closed on exec (children get them only through `actions`).
    private static func makePipe() throws(ProcessError) -> (read: Int32, write: Int32) {
        var ends: [Int32] = [0, 0]
        guard pipe(&ends) == 0 else { throw ProcessError("cannot create a pipe: \(String(cString: strerror(errno)))") }
        ends.forEach { _ = fcntl($0, F_SETFD, FD_CLOEXEC) }
        return (ends[0], ends[1])
    }

    /// Writes `text` to `fd` on a thread of its own, then closes it: the child may answer before it
    /// has read everything, and we read its answer meanwhile. SIGPIPE is blocked on that thread, so
    /// a child that exits without reading gives EPIPE here instead of killing us.
    private static func feed(_ text: String, into fd: Int32) {
        Thread.detachNewThread {
            var broken = sigset_t()
            sigemptyset(&broken)
            sigaddset(&broken, SIGPIPE)
            pthread_sigmask(SIG_BLOCK, &broken, nil)
            var bytes = Array(text.utf8)[...]
            while !bytes.isEmpty {
                let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
                if written < 0 && errno == EINTR { continue }
                guard written > 0 else { break }
                bytes = bytes.dropFirst(written)
            }
            close(fd)
        }
    }

    /// Everything `fd` gives until EOF, as text; closes it.
    private static func readToEnd(_ fd: Int32) -> String {
        defer { close(fd) }
        var data = [UInt8](), buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = read(fd, &buffer, buffer.count)
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { break }
            data += buffer[..<count]
        }
        return String(decoding: data, as: UTF8.self)
    }

    /// `readToEnd` on a thread of its own; `wait()` gives the text.
    private static func readInBackground(_ fd: Int32) -> PendingText {
        let pending = PendingText()
        Thread.detachNewThread { pending.finish(readToEnd(fd)) }
        return pending
    }

    /// True while `pid` exists and is not a zombie.
    public static func isAlive(_ pid: pid_t) -> Bool {
        guard pid > 0, kill(pid, 0) == 0 || errno == EPERM else { return false }
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return true }
        let state = stat[stat.index(close, offsetBy: 2)]
        return state != "Z" && state != "X"
    }

    /// The program name of a running pid (from /proc), to tell our process from a recycled pid.
    public static func commandLine(_ pid: pid_t) -> [String] {
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return [] }
        return data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
    }

    /// The user a running pid acts as (its effective uid: the owner of /proc/PID), nil when it is gone.
    public static func owner(_ pid: pid_t) -> uid_t? {
        var status = stat()
        return stat("/proc/\(pid)", &status) == 0 ? status.st_uid : nil
    }

    public static func signal(_ pid: pid_t, _ signal: Int32) {
        if pid > 0 { kill(pid, signal) }
    }

    /// Sends `signal`, waits up to `grace` for the process to go, then SIGKILLs it.
    public static func stop(_ pid: pid_t, signal: Int32 = SIGTERM, grace: Duration = .seconds(10)) async {
        guard isAlive(pid) else { return }
        kill(pid, signal)
        let deadline = ContinuousClock.now + grace
        while isAlive(pid) && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        if isAlive(pid) {
            kill(pid, SIGKILL)
            while isAlive(pid) { try? await Task.sleep(for: .milliseconds(10)) }
        }
    }

    /// Makes standard output line-buffered, for a long-running process whose log is read live.
    public static func lineBufferStandardOutput() { cspawn_line_buffered_stdout() }

    /// Our own children must be reaped or they linger as zombies while we run; how each ended is kept.
    private static func reapInBackground(_ pid: pid_t) {
        Thread.detachNewThread {
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
            endings.withLock { $0[pid] = status }
        }
    }

    /// Wait statuses of the children `spawn` started that have ended, by pid.
    private static let endings = Mutex<[pid_t: Int32]>([:])

    /// How a child `spawn` started ended (`exited with status 3`, `was killed by signal 9`), waiting
    /// up to `patience` for it to be reaped; nil while it runs.
    public static func ending(_ pid: pid_t, patience: Duration = .milliseconds(500)) async -> String? {
        let deadline = ContinuousClock.now + patience
        while true {
            if let status = endings.withLock({ $0[pid] }) {
                return status & 0x7f == 0 ? "exited with status \((status >> 8) & 0xff)" : "was killed by signal \(status & 0x7f)"
            }
            guard ContinuousClock.now < deadline else { return nil }
            try? await Task.sleep(for: .milliseconds(10))
        }
    }
}

/// Text that a background reader hands over once, when its pipe is done.
private final class PendingText: @unchecked Sendable {
    private let condition = NSCondition()
    private var text: String?

    func finish(_ value: String) {
        condition.lock()
        text = value
        condition.signal()
        condition.unlock()
    }

    func wait() -> String {
        condition.lock()
        defer { condition.unlock() }
        while text == nil { condition.wait() }
        return text!
    }
}

extension ChildProcess {
    /// Becomes `arguments` (execv): for a command whose whole job is another program's output
    /// (`logs -f` is `tail -F`), which then gets the terminal, the signals and the exit status.
    public static func replaceProcess(with arguments: [String]) throws(ProcessError) -> Never {
        let executable = try resolve(arguments[0])
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        execv(executable, &argv)
        throw ProcessError("cannot run \(executable): \(String(cString: strerror(errno)))")
    }
}
