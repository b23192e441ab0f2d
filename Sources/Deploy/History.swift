import Foundation
import Policy
import Runtime
import Vocabulary

/// `history.jsonl` under the state directory: one JSON object per event (init, deploy, policy,
/// canary_start, promote, rollback, chaos, teardown, status_scrape), each with its timestamp.
/// The audit report is made from it.
public struct History: Sendable {
    public let path: String

    public init(stateDirectory: String) {
        path = "\(stateDirectory)/history.jsonl"
    }

    /// Appends one event. History is evidence, so a failure to write it is reported, not swallowed.
    public func record(_ event: String, _ fields: [String: JSONValue] = [:], at date: Date = Date()) throws {
        var object = fields
        object["event"] = .string(event)
        object["timestamp"] = .string(date.formatted(.iso8601))
        let line = JSONValue.object(object).description + "\n"
        do {
            try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            if !FileManager.default.fileExists(atPath: path) { FileManager.default.createFile(atPath: path, contents: nil) }
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
            defer { try? handle.close() }
            try handle.seekToEnd()
            try handle.write(contentsOf: Data(line.utf8))
        } catch {
            throw FileWriteError(path: path, reason: "\(error.localizedDescription) (is the disk full?)")
        }
    }

    /// Records a policy decision with its input.
    public func record(_ decision: Decision, input: JSONValue, forced: Bool = false) throws {
        var fields: [String: JSONValue] = ["policy": .string(decision.policy.rawValue), "input": input, "decision": decision.json]
        if forced { fields["forced"] = true }
        try record("policy", fields)
    }

    /// Every event, oldest first; lines that are not JSON objects are skipped and counted.
    public func events() -> (events: [JSONValue], unreadable: Int) {
        guard let data = FileManager.default.contents(atPath: path) else { return ([], 0) }
        var events: [JSONValue] = []
        var unreadable = 0
        for line in data.split(separator: UInt8(ascii: "\n")) where !line.isEmpty {
            if let value = JSONValue(parsing: Data(line)), case .object = value { events.append(value) } else { unreadable += 1 }
        }
        return (events, unreadable)
    }
}
