import Foundation
import Spawn
import TestSupport
import Testing

@Suite struct ChildProcesses {
    /// A command with a time limit: its status and output when it ends in time; stopped, with
    /// what it started, when it does not.
    @Test func runWithALimitReturnsTheStatusOrStopsTheCommand() async throws {
        let done = try await ChildProcess.run(["/bin/sh", "-c", "echo out; echo err >&2; exit 4"], limit: .seconds(10))
        #expect(done.status == 4 && done.output.contains("out") && done.output.contains("err"))
        let started = ContinuousClock.now
        let stopped = try await ChildProcess.run(["/bin/sh", "-c", "echo begun; sleep 41 & sleep 41"], limit: .milliseconds(500))
        #expect(stopped.status == nil && stopped.output.contains("begun"))
        // Stopped at its limit, long before the 41 s it would run (a loaded CI machine can take seconds to reap it).
        #expect(ContinuousClock.now - started < .seconds(20), "stopped at its limit")
        let left = try ChildProcess.run(["/bin/sh", "-c", "pgrep -x sleep -a | grep -c 'sleep 41'"]).output.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(left == "0", "its background child went with it (\(left) left)")
    }

    @Test func missingProgramSaysWhereItLooked() {
        #expect {
            try ChildProcess.resolve("no-such-program-swiftdeploy")
        } throws: { error in
            "\(error)".contains("no-such-program-swiftdeploy: command not found (looked in PATH")
        }
    }

    /// Root runs only what root alone can change: a manifest's `nginx.binary` that a deploy user
    /// owns, or that sits in a folder others can write, is refused before it runs.
    @Test(.enabled(if: geteuid() == 0, "the rule applies to root")) func rootRunsOnlyProgramsRootAloneCanChange() throws {
        let directory = NSTemporaryDirectory() + "swiftdeploy-rootonly-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let program = "\(directory)/nginx"
        try "#!/bin/sh\ntouch \(directory)/ran\n".write(toFile: program, atomically: true, encoding: .utf8)
        chmod(program, 0o755)
        #expect(try ChildProcess.resolve(program) == program)
        let cases: [(String, () -> Void)] = [
            ("\(program) belongs to uid 1000", { chown(program, 1000, 1000) }),
            ("\(program) is writable by group or others", { chown(program, 0, 0); chmod(program, 0o775) }),
            ("\(directory) is writable by group or others", { chmod(program, 0o755); chmod(directory, 0o777) }),
        ]
        for (problem, change) in cases {
            change()
            #expect { try ChildProcess.resolve(program) } throws: { "\($0)".contains("refusing to run \(program) as root: \(problem)") }
            #expect { try ChildProcess.run([program]) } throws: { "\($0)".contains(problem) }
        }
        // A link from a root folder to a program in the writable folder: the target is judged too.
        let link = NSTemporaryDirectory() + "swiftdeploy-rootonly-link-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: program)
        defer { try? FileManager.default.removeItem(atPath: link) }
        #expect { try ChildProcess.resolve(link) } throws: { "\($0)".contains("\(directory) is writable by group or others") }
        #expect(!FileManager.default.fileExists(atPath: "\(directory)/ran"))
        // The system's own programs pass.
        #expect(try ChildProcess.resolve("sh").hasPrefix("/"))
    }

    /// Beside the running binary (a user's checkout: `.build/debug/swiftdeploy-demo`), a program is
    /// trusted as the binary is, whoever owns it: changing it is no more than changing the binary.
    @Test(.enabled(if: geteuid() == 0, "the rule applies to root")) func rootRunsWhatSitsBesideItsOwnBinary() throws {
        let program = "\(ChildProcess.executableDirectory)/swiftdeploy-rootonly-\(UUID().uuidString.prefix(8))"
        try "#!/bin/sh\n".write(toFile: program, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: program) }
        chmod(program, 0o775)
        chown(program, 1000, 1000)
        #expect(try ChildProcess.resolve(program) == program)
        #expect(try ChildProcess.resolve((program as NSString).lastPathComponent) == program)
    }

    @Test func spawnedProcessIsDetachedLoggedAndStoppable() async throws {
        let directory = NSTemporaryDirectory() + "swiftdeploy-child-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let log = "\(directory)/child.log"
        let pid = try ChildProcess.spawn(["sh", "-c", "echo started $GREETING; exec sleep 30"], environment: ["GREETING": "hello"], logFile: log)
        #expect(ChildProcess.isAlive(pid))
        #expect(getsid(pid) == pid, "the child leads its own session")
        var text = ""
        for _ in 0..<500 where !text.contains("started hello") {  // bounded wait for the first line
            text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            try await Task.sleep(for: .milliseconds(2))
        }
        #expect(text.contains("started hello"))
        await ChildProcess.stop(pid, grace: .seconds(2))
        #expect(!ChildProcess.isAlive(pid))
    }
}
