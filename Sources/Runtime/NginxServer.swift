import Foundation
import Spawn

#if canImport(Glibc)
import Glibc
#endif

/// A real nginx run as our child with its own prefix, so it needs no root-owned paths:
/// `nginx -p PREFIX -c CONF -g 'daemon off;'`. Reload is SIGHUP, stop is SIGQUIT (graceful).
public struct NginxServer: Sendable {
    public let binary: String
    /// Prefix directory: logs/, tmp/ and the pid file live under it.
    public let prefix: String
    public let configFile: String

    public init(binary: String = "nginx", prefix: String, configFile: String) {
        self.binary = binary
        self.prefix = prefix
        self.configFile = configFile
    }

    public var accessLog: String { "\(prefix)/logs/access.log" }
    public var errorLog: String { "\(prefix)/logs/error.log" }
    public var pidFile: String { "\(prefix)/logs/nginx.pid" }

    /// Creates the prefix layout nginx expects (logs/, tmp/).
    public func prepare() throws(ProcessError) {
        for directory in ["logs", "tmp"] { try FileWriter.makeDirectory("\(prefix)/\(directory)") }
    }

    /// `nginx -t` on the config; throws nginx's own words when it fails.
    public func test() throws(ProcessError) {
        try prepare()
        let result = try ChildProcess.run(arguments(extra: ["-t", "-q"]))
        guard result.status == 0 else {
            throw ProcessError("nginx -t rejected \(configFile):\n\(result.output.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
    }

    /// Starts nginx detached; returns its master pid once it has written its pid file.
    public func start(logFile: String) async throws(ProcessError) -> pid_t {
        try test()
        let pid = try ChildProcess.spawn(arguments(extra: []), logFile: logFile)
        let deadline = ContinuousClock.now + .seconds(5)
        while ContinuousClock.now < deadline {
            if !ChildProcess.isAlive(pid) {
                let log = (try? String(contentsOfFile: logFile, encoding: .utf8)) ?? ""
                throw ProcessError("nginx exited at start-up:\n\(log.suffix(2000))")
            }
            if runningPid() == pid { return pid }
            try? await Task.sleep(for: .milliseconds(10))
        }
        throw ProcessError("nginx did not write \(pidFile) within 5 s; see \(logFile)")
    }

    /// The master pid from the pid file when that process is alive and is this nginx: ours (same
    /// user) and started on this configuration. A pid file outlives its process, the pid may now be
    /// another program's, and whoever can write the folder can write any pid there: only our own
    /// nginx is ever signalled.
    public func runningPid() -> pid_t? {
        guard let text = try? String(contentsOfFile: pidFile, encoding: .utf8),
              let pid = pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)), pid > 1,
              ChildProcess.isAlive(pid), ChildProcess.owner(pid) == geteuid(),
              // nginx's master titles itself `nginx: master process <its command line>`.
              ChildProcess.commandLine(pid).joined(separator: " ").contains(" -c \(configFile) ") else { return nil }
        return pid
    }

    /// Tests the new config, then asks the running master to reload it without dropping requests.
    /// Returns once the old workers have been replaced.
    public func reload() async throws(ProcessError) {
        try test()
        guard let pid = runningPid() else { throw ProcessError("nginx is not running (no live pid in \(pidFile))") }
        try await Self.reload(master: pid, seeLog: errorLog) { ChildProcess.signal(pid, SIGHUP) }
    }

    /// Sends the reload (`signal`), then waits until every worker that served before it has finished
    /// its requests and exited, and new ones serve. `master` is nginx's master pid on this host.
    static func reload(master: pid_t, seeLog: String, signal: () throws(ProcessError) -> Void) async throws(ProcessError) {
        let before = Set(workers(of: master))
        try signal()
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            let now = workers(of: master)
            if !now.isEmpty && before.isDisjoint(with: now) { return }
            try? await Task.sleep(for: .milliseconds(10))
        }
        throw ProcessError("nginx did not pick up the new configuration within 10 s; see \(seeLog)")
    }

    /// Graceful stop: in-flight requests finish.
    public func stop() async {
        guard let pid = runningPid() else { return }
        await ChildProcess.stop(pid, signal: SIGQUIT, grace: .seconds(15))
    }

    func arguments(extra: [String]) -> [String] {
        [binary, "-p", prefix + "/", "-c", configFile, "-g", "daemon off;"] + extra
    }

    /// Worker pids of a master, from /proc; a reload replaces them all.
    static func workers(of master: pid_t) -> [pid_t] {
        guard let children = try? String(contentsOfFile: "/proc/\(master)/task/\(master)/children", encoding: .utf8) else { return [] }
        return children.split(separator: " ").compactMap { pid_t($0) }
    }
}
