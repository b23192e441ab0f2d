import Foundation
import Spawn
import TestSupport
import Testing

/// Root in a project another user can change (issue 27, H3 and M4): it acts as that user, so the
/// user's hooks never run as root and the user's links lead nowhere root could write.
@Suite(.enabled(if: getuid() == 0, "needs root: run scripts/test as root (CI does)"))
struct RootInOthersFolders {
    @Test func rootDeploysAnotherUsersProjectAsThatUser() throws {
        let project = TestSupport.temporaryDirectory("theirs")
        let secret = TestSupport.temporaryDirectory("roots") + "/secret"
        defer { for path in [project, (secret as NSString).deletingLastPathComponent] { try? FileManager.default.removeItem(atPath: path) } }
        try "root only\n".write(toFile: secret, atomically: true, encoding: .utf8)
        chmod(secret, 0o600)
        try """
            name: theirs
            services:
              web: { command: [sh, -c, "exec sleep 60"], port: 4000, version: 1.0.0 }
            nginx: { port: \(TestSupport.freePort()) }
            hooks:
              pre_deploy: "id -u > hook-uid; exit 1"
            """.write(toFile: "\(project)/swiftdeploy.yaml", atomically: true, encoding: .utf8)
        for path in [project, "\(project)/swiftdeploy.yaml"] { chown(path, 65534, 65534) }
        // `--force`: the host's load (other suites run beside this one) must not stop the deploy
        // before its hook.

        let deploy = try TestSupport.run("swiftdeploy", ["deploy", "--force", "-f", "\(project)/swiftdeploy.yaml"])
        #expect(deploy.status != 0, "the hook fails the deploy")
        #expect(deploy.stderr.contains("acting as nobody, who can change \(project)/swiftdeploy.yaml"), "\(deploy.stderr)")
        let ranAs = try String(contentsOfFile: "\(project)/hook-uid", encoding: .utf8)
        #expect(ranAs == "65534\n", "the user's hook ran as the user, not root")

        // The user's planted link: root appending its history would write into root's file.
        try FileManager.default.removeItem(atPath: "\(project)/.swiftdeploy/history.jsonl")
        try FileManager.default.createSymbolicLink(atPath: "\(project)/.swiftdeploy/history.jsonl", withDestinationPath: secret)
        lchown("\(project)/.swiftdeploy/history.jsonl", 65534, 65534)
        let linked = try TestSupport.run("swiftdeploy", ["deploy", "--force", "-f", "\(project)/swiftdeploy.yaml"])
        #expect(linked.status != 0 && linked.stderr.contains("history.jsonl: it is a symbolic link"), "\(linked.stderr)")
        #expect(try String(contentsOfFile: secret, encoding: .utf8) == "root only\n", "root's file untouched through the link")

        // Told to trust it, root acts as root; a project anyone may write is refused outright.
        chmod(project, 0o777)
        let open = try TestSupport.run("swiftdeploy", ["deploy", "--force", "-f", "\(project)/swiftdeploy.yaml"])
        #expect(open.status == 1 && open.stderr.contains("is writable by group or others (mode 777)"), "\(open.stderr)")
        try FileManager.default.removeItem(atPath: "\(project)/.swiftdeploy/history.jsonl")
        let trusted = try TestSupport.run("swiftdeploy", ["deploy", "--force", "-f", "\(project)/swiftdeploy.yaml", "--trust-manifest"])
        #expect(trusted.status != 0 && !trusted.stderr.contains("acting as"))
        #expect(try String(contentsOfFile: "\(project)/hook-uid", encoding: .utf8) == "0\n", "trusted: root runs the hook")
    }
}
