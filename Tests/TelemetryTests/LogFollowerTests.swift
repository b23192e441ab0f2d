import Foundation
import Testing

@testable import Telemetry

/// The follower wakes on the kernel's word, not by polling: every follower here polls once a minute
/// at most, so a wake well before that can only come from inotify (the bounds are loose: a loaded
/// machine may schedule the waiter late, never early).
@Suite struct LogFollowerWaking {
    let directory: String
    var log: String { "\(directory)/access.log" }

    init() throws {
        directory = NSTemporaryDirectory() + "swiftdeploy-follow-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    func append(_ text: String, to path: String) throws {
        if !FileManager.default.fileExists(atPath: path) { _ = FileManager.default.createFile(atPath: path, contents: nil) }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(text.utf8))
        try handle.close()
    }

    func follower() -> LogFollower { LogFollower(path: log, safetyPoll: .seconds(60), fallbackPoll: .seconds(60)) }

    /// How long a wait took when `change` happens 100 ms into it (after any earlier wake was taken).
    func waited(_ follower: LogFollower, for change: () throws -> Void) async throws -> Duration {
        await follower.wait(until: .now + .milliseconds(50))
        let started = ContinuousClock.now
        async let waiting: Void = follower.wait(until: started + .seconds(60))
        try await Task.sleep(for: .milliseconds(100))
        try change()
        await waiting
        return .now - started
    }

    @Test func wakesOnAnAppend() async throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try append("", to: log)
        let follower = follower(), tail = LogTail(path: log)
        #expect(follower.isWatching)
        _ = tail.poll()
        let took = try await waited(follower) { try append("one\n", to: log) }
        #expect(took >= .milliseconds(100) && took < .seconds(20), "woke \(took) after the wait began")
        #expect(tail.poll().map { String(decoding: $0, as: UTF8.self) } == ["one"])
    }

    @Test func wakesAcrossARenameRotation() async throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try append("", to: log)
        let follower = follower(), tail = LogTail(path: log)
        _ = tail.poll()
        let rotated = try await waited(follower) {
            try append("last of the old\n", to: log)
            try FileManager.default.moveItem(atPath: log, toPath: "\(log).1")
            try append("", to: log)
        }
        #expect(rotated < .seconds(20))
        #expect(tail.poll().map { String(decoding: $0, as: UTF8.self) } == ["last of the old"])
        // The watch moved to the new file: an append to it wakes too.
        let took = try await waited(follower) { try append("first of the new\n", to: log) }
        #expect(took >= .milliseconds(100) && took < .seconds(20), "woke \(took) after the wait began")
        #expect(tail.poll().map { String(decoding: $0, as: UTF8.self) } == ["first of the new"])
    }

    @Test func wakesWhenTheFileAppears() async throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let follower = follower()
        let took = try await waited(follower) { try append("hello\n", to: log) }
        #expect(took >= .milliseconds(100) && took < .seconds(20))
    }

    @Test func sleepsThroughOtherFilesAndUntilTheDeadline() async throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try append("", to: log)
        let follower = follower()
        await follower.wait(until: .now + .milliseconds(50))
        let started = ContinuousClock.now
        async let waiting: Void = follower.wait(until: started + .milliseconds(400))
        try append("not ours\n", to: "\(directory)/error.log")
        await waiting
        let took = ContinuousClock.now - started
        #expect(took >= .milliseconds(390) && took < .seconds(20), "a write to another file does not wake it: \(took)")
        // Back to back, each wait lasts until its deadline: no wake is left over to end the next early.
        let series = ContinuousClock.now
        for _ in 0..<5 { await follower.wait(until: .now + .milliseconds(100)) }
        let five = ContinuousClock.now - series
        #expect(five >= .milliseconds(495) && five < .seconds(20), "five 100 ms waits took \(five)")
    }

    @Test func wakeAndCancellationEndAWaitAtOnce() async throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let follower = follower()
        let woken = try await waited(follower) { follower.wake() }
        #expect(woken < .seconds(20))
        let started = ContinuousClock.now
        let waiting = Task { await follower.wait(until: .now + .seconds(60)) }
        try await Task.sleep(for: .milliseconds(50))
        waiting.cancel()
        await waiting.value
        #expect(ContinuousClock.now - started < .seconds(20))
    }
}
