import Foundation
import Firewall
import Manifest
import Telemetry
import Testing
import Vocabulary

@testable import GuardService

/// What a console was told, warnings apart.
final class RecordingConsole: Console, @unchecked Sendable {
    private let lock = NSLock()
    private var said: [String] = []
    private var warned: [String] = []

    func say(_ line: String, terminator: String) { lock.withLock { said.append(line) } }
    func warn(_ line: String) { lock.withLock { warned.append(line) } }
    var lines: [String] { lock.withLock { said } }
    var warnings: [String] { lock.withLock { warned } }
}

/// A daemon on a fresh store and an empty log, with a dry-run firewall and a clock the test sets.
struct DaemonFixture {
    let directory = NSTemporaryDirectory() + "swiftdeploy-reading-\(UUID().uuidString.prefix(8))"
    var log: String { "\(directory)/access.log" }
    let console = RecordingConsole()
    let clock = HandClock(1_800_000_000_000)

    func daemon(format: String = "auto") throws -> GuardDaemon {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        let manifest = try ManifestLoader.parse(
            yaml: "name: reading\nservices:\n  app: { command: [x], port: 3000 }\nguard: { log: access.log, log_format: \(format), enforcer: dry-run }\n",
            file: "swiftdeploy.yaml", directory: directory)
        let clock = self.clock
        return try GuardDaemon(settings: manifest.guardSettings, stateDirectory: directory, enforcer: DryRunEnforcer(), notifiers: [],
                               console: console, clock: { Double(clock.now) / 1000 })
    }

    func append(_ text: String) throws {
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(text.utf8))
        try handle.close()
    }

    /// `count` JSON lines of about 1 kB (a long agent), so a few thousand pass `LogTail.maxRead`.
    func lines(_ count: Int, at time: Double) -> String {
        let agent = String(repeating: "a", count: 900)
        return (0..<count).map { index in
            #"{"msec":\#(time),"remote_addr":"10.0.\#(index / 250 % 250).\#(index % 250 + 1)","status":200,"ua":"\#(agent)"}"# + "\n"
        }.joined()
    }

    func remove() { try? FileManager.default.removeItem(atPath: directory) }
}

@Suite struct DaemonReadsAFlood {
    @Test func aStepThatStopsAtTheCapIsFollowedByOneThatContinuesWithoutANewWrite() throws {
        let fixture = DaemonFixture()
        defer { fixture.remove() }
        let daemon = try fixture.daemon()
        daemon.step(at: nil)  // opens the empty log at its end
        let count = LogTail.maxRead / 900 + 2000
        try fixture.append(fixture.lines(count, at: 1_800_000_000))
        let first = daemon.step(at: 1_800_000_000)
        #expect(first > 0 && first < count, "one slice of at most LogTail.maxRead bytes")
        #expect(!daemon.tail.reachedEnd && daemon.tail.backlog > 0)
        daemon.publish()
        #expect(daemon.snapshot.backlogBytes > 0, "the dashboard shows the backlog")
        let second = daemon.step(at: nil)
        #expect(first + second == count, "the rest, with nothing written since")
        #expect(daemon.tail.reachedEnd && daemon.tail.backlog == 0)
    }

    @Test func theLoopDoesNotWaitWhileTheTailHasMore() async throws {
        let fixture = DaemonFixture()
        defer { fixture.remove() }
        let daemon = try fixture.daemon()
        let waits = Counter()
        daemon.pause = { _ in
            waits.add()
            try? await Task.sleep(for: .milliseconds(5))
        }
        let count = 2 * LogTail.maxRead / 900 + 500
        let text = fixture.lines(count, at: 1_800_000_000)
        let asked = Counter()
        try await daemon.run {
            asked.add()
            // Written once the loop runs (the start has read the empty log): three slices wait.
            if asked.value == 1 { try? fixture.append(text) }
            return daemon.lines == count || asked.value > 1000
        }
        #expect(daemon.lines == count)
        #expect(waits.value <= 1, "no wait between slices, only once the log was read to its end (\(waits.value) waits)")
    }
}

@Suite struct DaemonSaysWhatItReads {
    @Test func autoSaysTheFormatItRecognised() throws {
        let fixture = DaemonFixture()
        defer { fixture.remove() }
        let daemon = try fixture.daemon()
        #expect(daemon.formatText == "auto, not recognised yet")
        daemon.step(at: nil)
        try fixture.append(#"192.0.2.1 - - [15/Jan/2027:08:00:00 +0000] "GET / HTTP/1.1" 200 512 "-" "curl/8""# + "\n")
        daemon.step(at: nil)
        #expect(fixture.console.lines.contains("guard: access log format recognised as combined (from its first parsable line)"))
        #expect(daemon.formatText == "auto, recognised as combined")
        try fixture.append(#"192.0.2.1 - - [15/Jan/2027:08:00:01 +0000] "GET / HTTP/1.1" 200 512 "-" "curl/8""# + "\n")
        daemon.step(at: nil)
        #expect(fixture.console.lines.filter { $0.contains("recognised as") }.count == 1, "said once")
    }

    @Test func malformedLinesAreLoudAtMostOnceAMinuteAndTheirEndIsSaid() throws {
        let fixture = DaemonFixture()
        defer { fixture.remove() }
        let daemon = try fixture.daemon(format: "json")
        daemon.step(at: nil)
        let garbage = (0..<20).map { "not json \($0) " + String(repeating: "x", count: 300) + "\n" }.joined()
        try fixture.append(fixture.lines(80, at: 1_800_000_000) + garbage)
        daemon.step(at: nil)
        let warning = try #require(fixture.console.warnings.first)
        #expect(warning.hasPrefix("guard: in the last minute, 20 of 100 lines (20.0%) do not parse as json; e.g. \"not json 19 xxx"), "\(warning)")
        #expect(warning.contains("…\": set guard.log_format"), "one sample, truncated, and what to do: \(warning)")
        daemon.publish()
        #expect(daemon.snapshot.badLinesRatio == 0.2)
        #expect(daemon.snapshot.readingProblem?.contains("20 of 100 lines (20.0%) do not parse as json") == true)
        try fixture.append(garbage)
        fixture.clock.move(to: 1_800_000_030_000)
        daemon.step(at: nil)
        #expect(fixture.console.warnings.count == 1, "at most once a minute")
        fixture.clock.move(to: 1_800_000_091_000)
        try fixture.append(fixture.lines(10, at: 1_800_000_091))
        daemon.step(at: nil)
        #expect(fixture.console.lines.last == "guard: the access log parses again: 0 of 10 lines malformed in the last minute")
        daemon.publish()
        #expect(daemon.snapshot.readingProblem == nil)
    }

    @Test func theLagIsTheNewestLinesAgeWhenRead() throws {
        let fixture = DaemonFixture()
        defer { fixture.remove() }
        let daemon = try fixture.daemon()
        daemon.step(at: nil)
        try fixture.append(fixture.lines(3, at: 1_799_999_995.5))
        daemon.step(at: nil)
        daemon.publish()
        #expect(daemon.snapshot.lagSeconds == 4.5)
        #expect(daemon.snapshot.logFormat == "auto, recognised as json")
    }
}

final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func add() { lock.withLock { count += 1 } }
    var value: Int { lock.withLock { count } }
}
