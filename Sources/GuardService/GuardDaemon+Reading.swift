import Foundation
import Detection
import Telemetry
import Vocabulary

/// How the daemon reads its log, said out loud: the format in use, malformed lines while they are
/// more than 1% of a minute's (a guard that cannot read its log bans nobody), catching up with a
/// backlog, and for the dashboard and `/metrics` how far behind the log it is.
extension GuardDaemon {
    /// The format in words: `json`, `auto, recognised as combined`, `auto, not recognised yet`.
    var formatText: String {
        guard parser.configured == .auto else { return parser.configured.rawValue }
        return parser.format.map { "auto, recognised as \($0.rawValue)" } ?? "auto, not recognised yet"
    }

    /// The last minute's reading, in the words every reader of the log uses.
    var readability: LogReadability {
        let minute = health.lastMinute
        return LogReadability(lines: minute.lines, badLines: minute.bad, configured: parser.configured, format: parser.format,
                              sample: parser.badSamples.last)
    }

    /// After each read (`lines` read, `bad` of them malformed): says the format once `auto` has
    /// recognised it, when malformed lines pass the alarm and when they no longer do, and when the
    /// backlog found at start has been read.
    func watchReading(lines: Int, bad: Int) {
        if parser.configured == .auto, let format = parser.format, format != announcedFormat {
            announcedFormat = format
            console.say("guard: access log format recognised as \(format.rawValue) (from its first parsable line)")
        }
        switch health.count(lines: lines, bad: bad) {
        case .malformed?:
            let reading = readability
            console.warn("guard: in the last minute, \(reading.finding)\(reading.example): \(LogReadability.remedy)")
        case .recovered(let lines, let bad)?:
            console.say("guard: the access log parses again: \(bad) of \(lines) lines malformed in the last minute")
        case nil:
            break
        }
        guard let started = catchingUp else { return }
        catchingUp = (started.lines + lines, started.since)
        guard tail.reachedEnd else { return }
        let seconds = String(format: "%.1f", clock() - started.since)
        console.say("guard: caught up with the log: \(started.lines + lines) lines read in \(seconds) s")
        catchingUp = nil
    }

    /// The reading's figures for the dashboard and `/metrics`.
    func describeReading(in snapshot: inout GuardSnapshot) {
        let reading = readability
        snapshot.logFormat = formatText
        snapshot.badLinesRatio = reading.share
        snapshot.readingProblem = health.alarming ? "In the last minute, \(reading.finding): \(LogReadability.remedy)." : nil
        snapshot.lateLines = engine.clock.lateLines
        snapshot.staleLines = engine.clock.staleLines
        snapshot.clockSteps = engine.clock.steps
        snapshot.backlogBytes = Int(clamping: tail.backlog)
        snapshot.lagSeconds = lag
    }
}
