import Foundation
import Runtime
import Spawn
import TestSupport
import Testing

/// Only our own nginx is signalled (issue 27, H3): whoever can write the state folder can write any
/// pid into nginx.pid; a process that merely calls itself nginx, or that another user runs, is not ours.
@Suite struct NginxIdentity {
    /// Starts `sleep` under the title nginx's master gives itself, as `user` when given.
    private func impostor(title: String, user: String? = nil) throws -> pid_t {
        let command = ["bash", "-c", "exec -a \"$0\" sleep 600", title]
        return try ChildProcess.spawn(user.map { ["setpriv", "--reuid=\($0)", "--regid=\($0)", "--clear-groups"] + command } ?? command, logFile: "/dev/null")
    }

    @Test func aPidFileNamingAnotherProcessIsNotOurNginx() async throws {
        let prefix = TestSupport.temporaryDirectory("nginx-pid")
        defer { try? FileManager.default.removeItem(atPath: prefix) }
        let server = NginxServer(prefix: prefix, configFile: "\(prefix)/nginx.conf")
        try server.prepare()
        let ours = "nginx: master process nginx -p \(prefix)/ -c \(prefix)/nginx.conf -g daemon off;"
        var started: [pid_t] = []
        defer { for pid in started { ChildProcess.signal(pid, SIGKILL) } }
        func pidFile(_ pid: pid_t) async throws {
            try "\(pid)\n".write(toFile: server.pidFile, atomically: true, encoding: .utf8)
            // A loaded CI machine can take many seconds to exec the impostor: wait by the clock, not by a count.
            let deadline = ContinuousClock.now + .seconds(60)
            while ChildProcess.commandLine(pid).first?.hasPrefix("nginx") != true, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(20))
            }
            try #require(ChildProcess.commandLine(pid).first?.hasPrefix("nginx") == true, "the impostor started")
        }
        let named = try impostor(title: "nginx: master process /usr/sbin/nginx -c /etc/nginx/nginx.conf")
        started.append(named)
        try await pidFile(named)
        #expect(server.runningPid() == nil, "another nginx (the system's) is not this stack's")
        if getuid() == 0 {
            let foreign = try impostor(title: ours, user: "65534")
            started.append(foreign)
            try await pidFile(foreign)
            #expect(server.runningPid() == nil, "a process of another user is never ours, whatever it calls itself")
        }
        let mine = try impostor(title: ours)
        started.append(mine)
        try await pidFile(mine)
        #expect(server.runningPid() == mine, "ours: same user, started on this configuration")
    }
}
