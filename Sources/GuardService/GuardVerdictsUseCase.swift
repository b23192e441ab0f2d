import Foundation
import Detection
import Manifest
import Telemetry
import Vocabulary

/// `swiftdeploy guard replay --verdicts`: for each line of a log, in order, one JSON object saying
/// what the request would have met (pass, throttle, challenge, ban) and the decision behind it;
/// a line that does not parse gets one too, saying so. Clients and cohorts are judged as the
/// daemon judges them, on the log's own clock.
public struct GuardVerdictsUseCase: Sendable {
    public let config: GuardConfig
    public let makeParser: @Sendable (AccessLogFormat?) -> GuardLogParser
    public let console: any Console

    public init(replay: GuardReplayUseCase) {
        (config, makeParser, console) = (replay.config, replay.makeParser, replay.console)
    }

    /// Prints the verdicts of every line of `log`; returns the count of each verdict.
    @discardableResult
    public func run(log: String, format: AccessLogFormat?, owners: NetworkOwners) throws -> [CohortVerdict: Int] {
        guard let data = FileManager.default.contents(atPath: log) else {
            throw FileManager.default.fileExists(atPath: log) ? GuardCommandError.unreadableLog(log, reason: "permission denied") : GuardCommandError.noSuchLog(log)
        }
        var replay = Replay(config: config, parser: makeParser(format), owners: owners)
        var output = OutputBuffer(console: console)
        var counts: [CohortVerdict: Int] = [:]
        var number = 0
        data.withUnsafeBytes { raw in
            let bytes = raw.bindMemory(to: UInt8.self)
            func judge(_ line: UnsafeBufferPointer<UInt8>) {
                number += 1
                var verdict: RequestVerdict
                if let event = replay.parser.parse(line) {
                    verdict = replay.judge(event)
                    verdict.line = number
                    counts[verdict.verdict ?? .pass, default: 0] += 1
                } else {
                    verdict = .unreadable(line: number, format: replay.parser.format?.rawValue ?? "a format the guard reads")
                }
                output.say(verdict.jsonLine)
            }
            let used = LineSplitter.lines(in: bytes) { judge($0) }
            if used < bytes.count { judge(UnsafeBufferPointer(rebasing: bytes[used...])) }
        }
        output.flush()
        let reading = LogReadability(replay.parser)
        if reading.isMostlyMalformed { throw GuardCommandError.mostlyMalformed(log: log, reading) }
        if reading.badLines > 0 { console.warn("replay: \(reading.finding)\(reading.example); each has a verdict of null") }
        return counts
    }
}
