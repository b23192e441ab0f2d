import Deploy
import Runtime
import Foundation
import Spawn
import TestSupport
import Testing
import Vocabulary

#if canImport(Glibc)
import Glibc
#endif

/// The project's deploy lock: one change at a time, the holder named, released by the kernel when
/// its holder ends however it ends.
struct ProjectLockTests {
    let state = NSTemporaryDirectory() + "swiftdeploy-lock-\(UUID().uuidString.prefix(8))"

    @Test func aSecondCommandIsRefusedWithTheHolderNamedUntilTheFirstEnds() async throws {
        defer { try? FileManager.default.removeItem(atPath: state) }
        let first = try await ProjectLock.acquire(stateDirectory: state, command: "deploy")
        let refusal = await #expect(throws: LockError.self) { try await ProjectLock.acquire(stateDirectory: state, command: "promote") }
        #expect(refusal?.description.contains("pid \(getpid())") == true && refusal?.description.contains("`swiftdeploy deploy`") == true,
                "\(refusal?.description ?? "")")
        guard case .held(let holder) = try ProjectLock.state(stateDirectory: state) else { Issue.record("not held"); return }
        #expect(holder.pid == getpid() && holder.command == "deploy")
        #expect(throws: LockError.self) { try ProjectLock.release(stateDirectory: state) }
        first.release()
        #expect(try ProjectLock.state(stateDirectory: state) == .free(lastHolder: holder))
        let second = try await ProjectLock.acquire(stateDirectory: state, command: "promote")
        second.release()
        #expect(try ProjectLock.release(stateDirectory: state)?.command == "promote")
        #expect(try ProjectLock.state(stateDirectory: state) == .free(lastHolder: nil))
    }

    @Test func waitingQueuesBehindTheHolderAndSaysForWhom() async throws {
        defer { try? FileManager.default.removeItem(atPath: state) }
        let first = try await ProjectLock.acquire(stateDirectory: state, command: "deploy")
        let transcript = BufferConsole()
        let waiter = Task { try await ProjectLock.acquire(stateDirectory: state, command: "rollback", wait: true, console: transcript) }
        for _ in 0..<50 where !transcript.text.contains("lock: waiting for") { try await Task.sleep(for: .milliseconds(20)) }
        #expect(transcript.text.contains("lock: waiting for pid \(getpid())"), "\(transcript.text)")
        first.release()
        let second = try await waiter.value
        guard case .held(let holder) = try ProjectLock.state(stateDirectory: state) else { Issue.record("not held"); return }
        #expect(holder.command == "rollback")
        second.release()
    }

    /// Released by hand and then by its end, the lock closes its file once: the descriptor number,
    /// free again after the first release, may meanwhile belong to something else (CI once saw
    /// SwiftNIO lose a socket that way).
    @Test func releasingTwiceClosesNothingElse() async throws {
        defer { try? FileManager.default.removeItem(atPath: state) }
        var lock: ProjectLock? = try await ProjectLock.acquire(stateDirectory: state, command: "deploy")
        lock?.release()
        let other = open("/dev/null", O_RDONLY | O_CLOEXEC)
        defer { close(other) }
        lock?.release()
        lock = nil
        #expect(fcntl(other, F_GETFD) != -1, "the second release closed descriptor \(other), which the lock no longer owned")
    }

    /// A holder killed with -9 leaves no lock behind (the kernel's flock on the same file).
    @Test func aKilledHolderReleasesTheLock() async throws {
        defer { try? FileManager.default.removeItem(atPath: state) }
        try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
        let path = ProjectLock.path(stateDirectory: state)
        // util-linux flock holds the lock itself (--close: the sleeping child does not inherit it).
        // It sleeps far longer than the test waits for it: it only ever ends by the SIGKILL below.
        let holder = try ChildProcess.spawn(["flock", "--close", path, "sleep", "600"], logFile: "/dev/null")
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            if case .held = try ProjectLock.state(stateDirectory: state) { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        guard case .held = try ProjectLock.state(stateDirectory: state) else {
            ChildProcess.signal(holder, SIGKILL)
            Issue.record("the other process never held it")
            return
        }
        await #expect(throws: LockError.self) { try await ProjectLock.acquire(stateDirectory: state, command: "deploy") }
        ChildProcess.signal(holder, SIGKILL)
        // `spawn` reaps its children in the background, so the test cannot wait for this one: it
        // waits (bounded) until the kernel has dropped the dead holder's lock.
        for _ in 0..<500 {
            guard case .held = try ProjectLock.state(stateDirectory: state) else { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        let lock = try await ProjectLock.acquire(stateDirectory: state, command: "deploy")
        lock.release()
    }
}

/// The kept releases: numbered, the oldest dropped past `keep`, private, found by version.
struct ReleasesTests {
    @Test func keepsTheLastNAndFindsTheNewestOfAVersion() throws {
        let directory = try temporaryProject(shop)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let project = try Project(file: "\(directory)/swiftdeploy.yaml")
        let releases = Releases(stateDirectory: project.manifest.stateDirectory, keep: 3)
        #expect(try releases.all().isEmpty)
        for (index, version) in ["1.0", "1.1", "1.0", "1.2", "1.3"].enumerated() {
            let spec = TrackSpec(command: ["app", "--v", version], image: nil, ports: [3000], version: version, env: ["TOKEN": "s\(index)"])
            try releases.record(spec, via: "deploy", project: project, at: Date(timeIntervalSince1970: Double(1_800_000_000 + index)))
        }
        #expect(try releases.all().map(\.number) == [3, 4, 5])
        #expect(try releases.newest("1.0").number == 3)
        #expect(try releases.newest("1.0").spec.env == ["TOKEN": "s2"])
        let missing = #expect(throws: LifecycleError.self) { try releases.newest("1.1") }
        #expect(missing?.description.contains("kept: 1.0, 1.2, 1.3") == true, "\(missing?.description ?? "")")
        #expect(try FileManager.default.attributesOfItem(atPath: releases.path)[.posixPermissions] as? Int == 0o600)
        #expect(try releases.newest("1.3").starts(TrackSpec(command: ["app", "--v", "1.3"], image: nil, ports: [13000], version: "1.3", env: ["TOKEN": "s4"])))
    }
}
