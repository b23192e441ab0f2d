import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Detection
import Manifest
import Telemetry
import Vocabulary

/// `swiftdeploy guard replay`: prints decisions as audit lines or JSON as they are made, then a
/// summary with the format it read; reads the log in chunks, so memory does not grow with its
/// length. `explain` follows one client: its figures at every recalc and every decision about it.
/// Malformed lines are said; a log most of whose lines are malformed fails the command.
public struct GuardReplayUseCase: Sendable {
    public let config: GuardConfig
    /// A parser for the format given; nil: the manifest's `guard.log_format`, or `auto` without one.
    public let makeParser: @Sendable (AccessLogFormat?) -> GuardLogParser
    public let console: any Console

    public init(settings: GuardSettings, console: any Console = TerminalConsole()) {
        config = GuardConfig(settings)
        makeParser = { GuardLogParser(settings, format: $0) }
        self.console = console
    }

    /// The built-in defaults, for a log replayed without a manifest.
    public init(console: any Console = TerminalConsole()) {
        config = GuardConfig()
        makeParser = { GuardLogParser(format: $0 ?? .auto, resolver: ClientResolver()) }
        self.console = console
    }

    /// - Parameter recalcs: also print each baseline recalculation (most lines of a replay; off by default).
    @discardableResult
    public func run(log: String, format: AccessLogFormat?, json: Bool, explain: IPAddress? = nil, recalcs: Bool = false,
                    owners: NetworkOwners = NetworkOwners()) throws -> Replay.Summary {
        guard let handle = FileHandle(forReadingAtPath: log) else {
            throw FileManager.default.fileExists(atPath: log) ? GuardCommandError.unreadableLog(log, reason: "permission denied") : GuardCommandError.noSuchLog(log)
        }
        defer { try? handle.close() }
        let started = ContinuousClock.now
        // One buffer for the whole file: a chunk is read in behind the partial line the last one left.
        var buffer = [UInt8](repeating: 0, count: 4 << 20)
        let descriptor = handle.fileDescriptor
        let filled = try Self.read(descriptor, into: &buffer, at: 0, log: log)
        var replay = Replay(config: config, parser: makeParser(format), owners: owners)
        var output = OutputBuffer(console: console)
        let target = explain.map { ClientResolver().client(peer: $0, forwardedFor: UnsafeBufferPointer(start: nil, count: 0)) }
        replay.explained = target
        func decided(_ decision: GuardDecision, _ explanation: GuardEngine.Explanation?) {
            if let target {
                guard let row = explanation else { return }
                let about = decision.ip == target ? decision : nil
                output.say(json ? ExplanationRecord(row, decision: about).jsonLine
                           : row.line + (about.map { "  → \($0.action.rawValue.uppercased()) \($0.condition)" } ?? ""))
            } else if json {
                if decision.isReplayed { output.say(decision.record.jsonLine) }
            } else if recalcs || decision.action != .baselineRecalc {
                output.say(decision.auditLine)
            }
        }
        // Two stages on two cores: a reader thread reads and parses, this thread judges, in order.
        let batches = EventBatches()
        let (firstChunk, firstFilled, parser) = (buffer, filled, replay.parser)
        let reader = Thread {
            var (buffer, filled, parser) = (firstChunk, firstFilled, parser)
            var batch: [ClientEvent] = []
            batch.reserveCapacity(EventBatches.size)
            do {
                while filled > 0 {
                    let used = buffer.withUnsafeBufferPointer { bytes in
                        LineSplitter.lines(in: UnsafeBufferPointer(rebasing: bytes[..<filled])) { line in
                            guard let event = parser.parse(line) else { return }
                            batch.append(event)
                            if batch.count == EventBatches.size { batches.put(batch); batch.removeAll(keepingCapacity: true) }
                        }
                    }
                    let rest = filled - used
                    if used == 0 && rest == buffer.count { buffer.append(contentsOf: repeatElement(0, count: buffer.count)) }  // a line longer than the buffer
                    buffer.withUnsafeMutableBufferPointer { pointer in
                        if rest > 0 && used > 0 { pointer.baseAddress!.update(from: pointer.baseAddress! + used, count: rest) }
                    }
                    let read = try Self.read(descriptor, into: &buffer, at: rest, log: log)
                    if read == 0 {
                        if rest > 0, let event = buffer.withUnsafeBufferPointer({ parser.parse(UnsafeBufferPointer(rebasing: $0[..<rest])) }) {
                            batch.append(event)
                        }
                        break
                    }
                    filled = rest + read
                }
                batches.put(batch)
                batches.finish(parser: parser, error: nil)
            } catch {
                batches.finish(parser: parser, error: error)
            }
        }
        reader.stackSize = 1 << 20
        reader.start()
        while let batch = batches.take() {
            batch.withUnsafeBufferPointer { replay.ingest($0, decided: decided) }
        }
        let (finalParser, readError) = batches.result
        if let readError { throw readError }
        if let finalParser { replay.parser = finalParser }
        for decision in replay.finish() { decided(decision, replay.explanation(for: decision)) }
        let summary = replay.summary
        if let target {
            let end = replay.engine.explain(target)
            output.say(json ? (end.map { ExplanationRecord($0, decision: nil).jsonLine } ?? #"{"end":null}"#)
                       : end.map { "end: " + $0.line } ?? "\(target): no request from this client in the log")
        }
        if json && target == nil {
            output.say(String(decoding: try JSONEncoder.sorted.encode(["summary": summary]), as: UTF8.self))
        } else if target == nil {
            let elapsed = ContinuousClock.now - started
            output.say("replay: \(summary.lines) lines (\(summary.badLines) malformed, skipped), \(summary.formatText), \(summary.bans) bans, "
                       + "\(summary.seconds) s of log time (\(summary.lateLines) lines late, \(summary.staleLines) stale, \(summary.clockSteps) clock steps), "
                       + "in \(String(format: "%.2f", elapsed.seconds)) s")
            for sample in replay.parser.badSamples { output.say("  malformed: \(sample)") }
        }
        output.flush()
        let reading = LogReadability(replay.parser)
        if reading.isMostlyMalformed { throw GuardCommandError.mostlyMalformed(log: log, reading) }
        if reading.badLines > 0 { console.warn("replay: \(reading.finding)\(reading.example); they were skipped") }
        return summary
    }
}

extension Replay.Summary {
    /// `format json (recognised)`, `format combined (given)`, or `no line in a format the guard reads`.
    var formatText: String {
        guard let format else { return "no line in a format the guard reads" }
        return "format \(format) (\(recognised ? "recognised" : "given"))"
    }
}

extension GuardReplayUseCase {
    /// Reads as much as fits after `offset`; the count read, 0 at the end of the file.
    static func read(_ descriptor: Int32, into buffer: inout [UInt8], at offset: Int, log: String) throws -> Int {
        let count = buffer.withUnsafeMutableBytes { raw in Glibc.read(descriptor, raw.baseAddress! + offset, raw.count - offset) }
        guard count >= 0 else { throw GuardCommandError.unreadableLog(log, reason: String(cString: strerror(errno))) }
        return count
    }
}

/// Collects output lines and writes them in batches (a replay can print a million lines).
struct OutputBuffer {
    let console: any Console
    private var lines: [String] = []

    init(console: any Console) { self.console = console }

    mutating func say(_ line: String) {
        lines.append(line)
        if lines.count >= 4096 { flush() }
    }

    mutating func flush() {
        guard !lines.isEmpty else { return }
        console.say(lines.joined(separator: "\n"))
        lines.removeAll(keepingCapacity: true)
    }
}

extension GuardEngine.Explanation {
    /// One row of `guard replay --explain`: the client's figures and why it is or is not banned.
    public var line: String {
        var why: [String] = []
        if banned { why.append("banned") }
        let levels = levels.map { String(format: "%@ %.1f/%.0f", $0.rule, $0.level, $0.burst) }.joined(separator: " ")
        if !warm { why.append("learning (rate rules wait for the baseline)") }
        if !banned && warm && rate < threshold { why.append(String(format: "below the rate rules' %.3f/s", threshold)) }
        if let cohort { why.append("challenged by cohort \(cohort)") }
        let text = String(format: "%@ rate=%.3f/s expected=%.3f z=%.2f requests=%d errors=%.0f%% agents=%d%@ | %@",
                          ISO8601.format(at), rate, expected, z, requests, errorRate * 100, agents, surging ? " error_surge" : "", levels)
        return text + (why.isEmpty ? "" : " | " + why.joined(separator: ", "))
    }
}
