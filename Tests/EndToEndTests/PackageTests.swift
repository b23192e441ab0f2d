import Foundation
import Spawn
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The logrotate snippet the package installs, run by the real logrotate on a copy of its paths.
struct LogRotation {
    @Test func rotatesTheAuditLogAndTellsNginxToReopen() async throws {
        let root = TestSupport.temporaryDirectory("logrotate")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let snippet = try String(contentsOfFile: "\(OPAServer.repositoryRoot)/packaging/logrotate", encoding: .utf8)
        #expect(try ChildProcess.run(["logrotate", "--debug", "\(OPAServer.repositoryRoot)/packaging/logrotate"]).status == 0, "the snippet parses")
        let state = "\(root)/var/lib/swiftdeploy"
        for folder in ["guard", "nginx/logs"] { try FileManager.default.createDirectory(atPath: "\(state)/\(folder)", withIntermediateDirectories: true) }
        try "[2026-12-02T12:00:07Z] BAN ip=203.0.113.9\n".write(toFile: "\(state)/guard/guard-audit.log", atomically: true, encoding: .utf8)
        try "{\"remote_addr\":\"203.0.113.9\"}\n".write(toFile: "\(state)/nginx/logs/access.log", atomically: true, encoding: .utf8)
        // An "nginx master" that notes the USR1 asking it to reopen its logs.
        let reopened = "\(root)/reopened"
        let master = try ChildProcess.spawn(["/bin/sh", "-c", "trap 'echo yes > \(reopened)' USR1; i=0; while [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done"],
                                            logFile: "\(root)/master.out")
        defer { kill(master, SIGKILL) }
        try "\(master)\n".write(toFile: "\(state)/nginx/logs/nginx.pid", atomically: true, encoding: .utf8)
        let config = "\(root)/swiftdeploy.logrotate"
        try snippet.replacingOccurrences(of: "/var/lib/swiftdeploy", with: state).write(toFile: config, atomically: true, encoding: .utf8)
        let rotated = try ChildProcess.run(["logrotate", "--state", "\(root)/logrotate.state", "--force", config])
        #expect(rotated.status == 0, "\(rotated.output)")
        #expect(FileManager.default.fileExists(atPath: "\(state)/guard/guard-audit.log.1"))
        let fresh = try FileManager.default.attributesOfItem(atPath: "\(state)/guard/guard-audit.log")
        #expect(fresh[.size] as? Int == 0 && fresh[.posixPermissions] as? Int == 0o600, "a new, private audit log")
        #expect(FileManager.default.fileExists(atPath: "\(state)/nginx/logs/access.log.1"))
        for _ in 0..<50 where !FileManager.default.fileExists(atPath: reopened) { try await Task.sleep(for: .milliseconds(100)) }
        #expect(FileManager.default.fileExists(atPath: reopened), "nginx was told to reopen its logs")
    }
}

/// The Debian package (`scripts/package`; scripts/test builds it and names it in
/// SWIFTDEPLOY_TEST_DEB) installed with apt into a clean Debian root (the debootstrap base the
/// images are made from), used there, then purged: nothing of it may remain. The firewall work
/// runs inside a network namespace the test creates.
@Suite(.serialized, .enabled(if: NamespacePair.isRoot && ProcessInfo.processInfo.environment["SWIFTDEPLOY_TEST_DEB"] != nil,
                             "needs root and SWIFTDEPLOY_TEST_DEB (scripts/test builds the package and sets it)"))
struct DebianPackage {
    final class CleanRoot: @unchecked Sendable {
        let path = TestSupport.temporaryDirectory("debroot")
        let namespace = "sdpkg\(String(UInt16.random(in: 0..<UInt16.max), radix: 16))"
        var mounted: [String] = []

        init() throws {
            try DockerTestEngine.prepare()
            let container = try sh("docker create swiftdeploy-base:bookworm /bin/true")
            defer { _ = try? sh("docker rm \(container)") }
            try sh("docker export \(container) | tar -x -C \(path)")
            try sh("cp /etc/resolv.conf \(path)/etc/resolv.conf")
            // Services are not started inside a build root (Debian's policy-rc.d convention).
            try sh("printf '#!/bin/sh\\nexit 101\\n' > \(path)/usr/sbin/policy-rc.d && chmod 755 \(path)/usr/sbin/policy-rc.d")
            for folder in ["proc", "dev", "sys"] {
                try sh("mkdir -p \(path)/\(folder) && mount --rbind /\(folder) \(path)/\(folder) && mount --make-rslave \(path)/\(folder)")
                mounted.append("\(path)/\(folder)")
            }
            try sh("ip netns add \(namespace)")
        }

        deinit {
            for folder in mounted.reversed() { _ = try? sh("umount -R -l \(folder)") }
            _ = try? sh("ip netns del \(namespace)")
            if mounted.allSatisfy({ (try? sh("mountpoint -q \($0) || echo gone")) == "gone" }) {
                try? FileManager.default.removeItem(atPath: path)
            }
        }

        /// A command inside the root (inside the test's network namespace when `isolated`).
        @discardableResult
        func run(_ command: String, isolated: Bool = false) throws -> String {
            let chroot = "chroot \(path) /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive HOME=/root sh -c '\(command)'"
            return try sh(isolated ? "ip netns exec \(namespace) \(chroot)" : chroot)
        }

        @discardableResult
        func sh(_ command: String) throws -> String {
            let result = try ChildProcess.run(["/bin/sh", "-c", command])
            guard result.status == 0 else { throw ShellFailure(description: "\(command):\n\(result.output)") }
            return result.output.trimmingCharacters(in: .whitespacesAndNewlines)
        }
    }

    @Test func installsIntoACleanRootWorksAndPurgesWithoutTrace() throws {
        let deb = try #require(ProcessInfo.processInfo.environment["SWIFTDEPLOY_TEST_DEB"])
        let root = try CleanRoot()
        try root.sh("cp \(deb) \(root.path)/tmp/swiftdeploy.deb")
        try root.run("apt-get update -qq && apt-get install -y -qq --no-install-recommends /tmp/swiftdeploy.deb >/tmp/apt.log 2>&1 || { cat /tmp/apt.log; exit 1; }")
        let files = try root.run("dpkg -L swiftdeploy").split(separator: "\n").map(String.init)

        // The programs run from the installed layout, with the installed Rego library (never the working directory's).
        let version = try root.run("swiftdeploy --version")
        #expect(version == "0.1.0")
        #expect(try root.run("stat -c %a:%U /var/lib/swiftdeploy") == "700:root")
        let example = "/usr/share/doc/swiftdeploy/examples/swiftdeploy.yaml"
        try root.run("cp \(example) /etc/swiftdeploy/swiftdeploy.yaml")
        let validate = try root.run("cd / && swiftdeploy validate -f /etc/swiftdeploy/swiftdeploy.yaml 2>&1")
        #expect(validate.contains("PASS  manifest parses") && validate.contains("PASS  nginx -t accepts the generated config"), "\(validate)")
        #expect(!validate.contains("FAIL"), "\(validate)")
        let policy = try root.run("cd / && swiftdeploy policy check -f /etc/swiftdeploy/swiftdeploy.yaml 2>&1")
        #expect(policy.contains("infrastructure"), "\(policy)")
        #expect(try root.run("zcat /usr/share/man/man1/swiftdeploy-guard-run.1.gz").contains(".Nm swiftdeploy-guard-run"), "one page per command")
        #expect(files.contains("/usr/share/bash-completion/completions/swiftdeploy") && files.contains("/lib/systemd/system/swiftdeploy-guard.service"))
        #expect(files.contains("/usr/share/swiftdeploy/grafana/swiftdeploy.json") && files.contains("/etc/logrotate.d/swiftdeploy"))
        let unit = try root.run("cat /lib/systemd/system/swiftdeploy-guard.service")
        #expect(unit.contains("ExecStart=/usr/bin/swiftdeploy guard run -f /etc/swiftdeploy/swiftdeploy.yaml --state-dir /var/lib/swiftdeploy"))

        // A manual ban puts the guard's table into the (namespaced) kernel; purging removes it and every file.
        try root.run("cd / && swiftdeploy guard bans add 192.0.2.44 -f /etc/swiftdeploy/swiftdeploy.yaml", isolated: true)
        #expect(try root.sh("ip netns exec \(root.namespace) nft list tables").contains("inet swiftdeploy"))
        try root.run("apt-get purge -y -qq swiftdeploy >/tmp/purge.log 2>&1 || { cat /tmp/purge.log; exit 1; }", isolated: true)
        #expect(try root.sh("ip netns exec \(root.namespace) nft list tables").isEmpty, "the firewall table is gone")
        let left = files.filter { $0.hasPrefix("/") && !["/", "/usr", "/etc", "/lib"].contains($0) }.filter { file in
            // Folders other packages share (usr/share/man, …) stay; every file of ours is gone.
            FileManager.default.fileExists(atPath: root.path + file) && (try? root.run("test -d \(file)")) == nil
        }
        #expect(left.isEmpty, "left after purge: \(left)")
        #expect(!FileManager.default.fileExists(atPath: "\(root.path)/var/lib/swiftdeploy"), "the state folder is gone")
        #expect(try root.run("dpkg -s swiftdeploy >/dev/null 2>&1 && echo installed || echo gone") == "gone")
    }
}
