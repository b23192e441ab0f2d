import Foundation
import Policy
import Runtime
import Spawn
import Vocabulary

/// `history.jsonl` under the state directory: one JSON object per event (init, deploy, policy,
/// canary_start, promote, rollback, chaos, teardown, status_scrape, restart…), each with its timestamp.
/// The audit report is made from it.
public struct History: Sendable {
    public let path: String
    /// Told of every event once it is written (the lifecycle's webhooks).
    let notices: LifecycleNotices?

    public init(stateDirectory: String, notices: LifecycleNotices? = nil) {
        path = "\(stateDirectory)/history.jsonl"
        self.notices = notices
    }

    /// Appends one event, with who ran the command (`user`). History is evidence, so a failure to
    /// write it is reported, not swallowed.
    public func record(_ event: HistoryEvent) throws(FileWriteError) {
        var event = event
        if event.details["user"] == nil { event.details["user"] = .string(Self.operator) }
        let line = event.jsonLine + "\n"
        do {
            try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            // Evidence of what was deployed and which policy said what: readable by the deploy user only,
            // from the moment it exists, and never appended through a link.
            try PrivateFile.append(path, Array(line.utf8))
        } catch let error as PrivateFile.Failure {
            throw FileWriteError(path: path, reason: error.reason)
        } catch {
            throw FileWriteError(path: path, reason: "\(error.localizedDescription) (is the disk full?)")
        }
        notices?.announce(event)
    }

    /// Appends an event of `kind` with its details; `forced` when `--force` went past a policy's no.
    public func record(_ kind: HistoryEvent.Kind, _ details: [String: JSONValue] = [:], forced: Bool = false,
                       at date: Date = Date()) throws(FileWriteError) {
        try record(HistoryEvent(event: kind, timestamp: date, forced: forced ? true : nil, details: details))
    }

    /// Records what a local instance's supervisor tells: a `restart`, or a `failure` of
    /// `swiftdeploy supervise` when it gave up (the track is failed), so the audit shows them.
    public func record(_ notice: Supervisor.Notice) throws(FileWriteError) {
        func ended(_ ending: Supervisor.Ending) -> [String: JSONValue] {
            var details: [String: JSONValue] = ["ending": .string(ending.words)]
            if let code = ending.exitCode { details["exit_code"] = .number(Double(code)) }
            if let signal = ending.signal { details["signal"] = .number(Double(signal)) }
            return details
        }
        switch notice {
        case .restart(let track, let ending, let attempt, let backoff):
            try record(.restart, ended(ending).merging(["track": .string(track.rawValue), "attempt": .number(Double(attempt)),
                                                        "backoff_seconds": .number(backoff.seconds)]) { $1 })
        case .gaveUp(let track, let ending, let exits, let window):
            let error = "the \(track) track's app ended \(exits) times in \(window.manifestText), last \(ending.words); gave up (the track is failed)"
            try record(.failure, ended(ending).merging(["command": .string("supervise"), "error": .string(error), "track": .string(track.rawValue),
                                                        "exits": .number(Double(exits)), "window_seconds": .number(window.seconds)]) { $1 })
        }
    }

    /// Records a policy decision with its input, and the same as an OPA decision log event.
    public func record(_ decision: Decision, input: JSONValue, forced: Bool = false) throws {
        let now = Date()
        try record(HistoryEvent(event: .policy, timestamp: now, decision: decision, input: input, forced: forced ? true : nil,
                                decisionLog: DecisionLog(decision, input: input, at: now, forced: forced)))
    }

    /// Who runs this command: the user behind sudo when there is one, else the process's user.
    static let `operator` = ProcessInfo.processInfo.environment["SUDO_USER"].flatMap { $0.isEmpty ? nil : $0 }
        ?? Privileges.User(uid: getuid(), fallbackGroup: getgid()).name

    /// Every event, oldest first; lines that are not events are skipped and counted.
    public func events() -> (events: [HistoryEvent], unreadable: Int) {
        guard let data = FileManager.default.contents(atPath: path) else { return ([], 0) }
        var events: [HistoryEvent] = []
        var unreadable = 0
        for line in data.split(separator: UInt8(ascii: "\n")) where !line.isEmpty {
            if let event = try? JSONDecoder.sorted.decode(HistoryEvent.self, from: Data(line)) { events.append(event) } else { unreadable += 1 }
        }
        return (events, unreadable)
    }
}

/// One line of `history.jsonl`, a flat JSON object: what happened and when, a policy event's typed
/// decision with the input it judged, and any other event's details (version, weight, files…).
public struct HistoryEvent: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable, CaseIterable {
        case initialise = "init", deploy, policy, canaryStart = "canary_start", promoteStep = "promote_step", promote, rollback
        case chaos, teardown, statusScrape = "status_scrape", hook, tls
        /// A changing command that failed part-way (its command and error), or a supervisor that gave up.
        case failure
        /// A supervisor started a crashed local instance again (its track, ending, attempt and pause).
        case restart
        /// A stepped promotion interrupted (Ctrl-C, SIGTERM): the traffic went back to where it was.
        case promoteAborted = "promote_aborted"
    }

    public var event: Kind
    public var timestamp: Date
    public var decision: Decision?
    public var input: JSONValue?
    /// A policy's no that `--force` went past.
    public var forced: Bool?
    /// A policy event as OPA would log it (`decision_log`).
    public var decisionLog: DecisionLog?
    public var details: [String: JSONValue]

    public init(event: Kind, timestamp: Date, decision: Decision? = nil, input: JSONValue? = nil, forced: Bool? = nil,
                decisionLog: DecisionLog? = nil, details: [String: JSONValue] = [:]) {
        (self.event, self.timestamp, self.decision, self.input, self.forced, self.details) = (event, timestamp, decision, input, forced, details)
        self.decisionLog = decisionLog
    }

    private struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(_ string: String) { stringValue = string }
        init?(stringValue: String) { self.init(stringValue) }
        init?(intValue: Int) { nil }
    }

    /// The keys the event's own fields use; everything else is a detail.
    private static let fields = ["event", "timestamp", "policy", "decision", "input", "forced", "decision_log"]

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        try container.encode(event, forKey: Key("event"))
        try container.encode(timestamp, forKey: Key("timestamp"))
        try container.encodeIfPresent(decision?.policy, forKey: Key("policy"))
        try container.encodeIfPresent(decision, forKey: Key("decision"))
        try container.encodeIfPresent(input, forKey: Key("input"))
        try container.encodeIfPresent(forced, forKey: Key("forced"))
        try container.encodeIfPresent(decisionLog, forKey: Key("decision_log"))
        for (key, value) in details where !Self.fields.contains(key) { try container.encode(value, forKey: Key(key)) }
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Key.self)
        event = try container.decode(Kind.self, forKey: Key("event"))
        timestamp = try container.decode(Date.self, forKey: Key("timestamp"))
        decision = try container.decodeIfPresent(Decision.self, forKey: Key("decision"))
        input = try container.decodeIfPresent(JSONValue.self, forKey: Key("input"))
        forced = try container.decodeIfPresent(Bool.self, forKey: Key("forced"))
        decisionLog = try container.decodeIfPresent(DecisionLog.self, forKey: Key("decision_log"))
        details = [:]
        for key in container.allKeys where !Self.fields.contains(key.stringValue) {
            details[key.stringValue] = try container.decode(JSONValue.self, forKey: key)
        }
    }
}
