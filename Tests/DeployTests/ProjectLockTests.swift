import Deploy
import Foundation
import Spawn
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

    /// A holder killed with -9 leaves no lock behind (the kernel's flock on the same file).
    @Test func aKilledHolderReleasesTheLock() async throws {
        defer { try? FileManager.default.removeItem(atPath: state) }
        try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
        let path = ProjectLock.path(stateDirectory: state)
        // util-linux flock holds the lock itself (--close: the sleeping child does not inherit it).
        let holder = try ChildProcess.spawn(["flock", "--close", path, "sleep", "5"], logFile: "/dev/null")
        for _ in 0..<100 {
            if case .held = try ProjectLock.state(stateDirectory: state) { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        guard case .held = try ProjectLock.state(stateDirectory: state) else { Issue.record("the other process never held it"); return }
        await #expect(throws: LockError.self) { try await ProjectLock.acquire(stateDirectory: state, command: "deploy") }
        ChildProcess.signal(holder, SIGKILL)
        var status: Int32 = 0
        waitpid(holder, &status, 0)
        let lock = try await ProjectLock.acquire(stateDirectory: state, command: "deploy")
        lock.release()
    }
}
