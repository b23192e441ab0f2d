import CSpawn
import Foundation

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
    public static func resolve(_ program: String, extraDirectories: [String] = []) throws(ProcessError) -> String {
        if program.contains("/") {
            guard FileManager.default.isExecutableFile(atPath: program) else {
                throw ProcessError("\(program) is not an executable file")
            }
            return program
        }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        let directories = path.split(separator: ":").map(String.init) + ["/usr/sbin", "/sbin"] + extraDirectories + [executableDirectory]
        for directory in directories {
            let candidate = (directory as NSString).appendingPathComponent(program)
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        throw ProcessError("\(program): command not found (looked in PATH and \(executableDirectory)); install it or give its full path")
    }

    /// Directory of the running executable.
    public static var executableDirectory: String {
        let path = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return (path as NSString).deletingLastPathComponent
    }

    /// Starts `arguments` detached (new session), stdout and stderr appended to `logFile`; returns the pid.
    public static func spawn(
        _ arguments: [String], environment: [String: String] = [:], logFile: String
    ) throws(ProcessError) -> pid_t {
        let executable = try resolve(arguments[0])
        let fd = open(logFile, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw ProcessError("cannot open log file \(logFile): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, fd, 1)
        posix_spawn_file_actions_adddup2(&actions, fd, 2)
        // Nothing else of ours leaks into a long-lived child (a caller's pipe would never see EOF).
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
        reapInBackground(pid)
        return pid
    }

    /// Runs a command to completion and returns its exit status and combined output.
    public static func run(_ arguments: [String], environment: [String: String] = [:]) throws(ProcessError) -> (status: Int32, output: String) {
        let executable = try resolve(arguments[0])
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = Array(arguments.dropFirst())
        var merged = ProcessInfo.processInfo.environment
        for (key, value) in environment { merged[key] = value }
        process.environment = merged
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        process.standardInput = FileHandle.nullDevice
        do { try process.run() } catch { throw ProcessError("cannot run \(executable): \(error)") }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
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

    /// Our own children must be reaped or they linger as zombies while we run.
    private static func reapInBackground(_ pid: pid_t) {
        Thread.detachNewThread {
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        }
    }
}
