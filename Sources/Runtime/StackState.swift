import Foundation
import Render
import Telemetry
import Spawn
import Vocabulary

/// What is running for one manifest, persisted under the state directory so a later
/// `swiftdeploy` process finds and manages what an earlier one started.
public struct StackState: Codable, Sendable, Equatable {
    /// One running instance of a track.
    public struct TrackRecord: Codable, Sendable, Equatable {
        public var pid: Int32
        public var port: Int
        public var version: String
        public var command: [String]
        public var startedAt: Date
        public var log: String
        /// What it was started from, so a promotion can start the same release as stable.
        public var spec: TrackSpec

        public init(pid: Int32, port: Int, version: String, command: [String], startedAt: Date, log: String, spec: TrackSpec) {
            self.pid = pid
            self.port = port
            self.version = version
            self.command = command
            self.startedAt = startedAt
            self.log = log
            self.spec = spec
        }
    }

    public var tracks: [Track: TrackRecord] = [:]
    public var nginxPid: Int32?
    /// What nginx is configured with; nil before the first deploy.
    public var routing: Routing?

    public init() {}

    public static func file(in stateDirectory: String) -> String { "\(stateDirectory)/stack.json" }

    public static func load(from stateDirectory: String) throws(ProcessError) -> StackState {
        let path = file(in: stateDirectory)
        guard let data = FileManager.default.contents(atPath: path) else { return StackState() }
        do {
            return try JSONDecoder.swiftdeploy.decode(StackState.self, from: data)
        } catch {
            throw ProcessError("\(path) is unreadable (\(error)); stop the processes it names by hand and delete it")
        }
    }

    public func save(to stateDirectory: String) throws(ProcessError) {
        let path = Self.file(in: stateDirectory)
        do {
            try FileManager.default.createDirectory(atPath: stateDirectory, withIntermediateDirectories: true)
            try JSONEncoder.swiftdeploy.encode(self).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw ProcessError("cannot write \(path): \(error.localizedDescription) (is the disk full or read-only?)")
        }
    }

    /// Drops records whose process is gone or whose pid now belongs to another program.
    public mutating func forgetStale() -> [Track] {
        var stale: [Track] = []
        for (track, record) in tracks where !Self.isOurs(pid: record.pid, command: record.command) {
            tracks[track] = nil
            stale.append(track)
        }
        if let pid = nginxPid, !Self.isOurs(pid: pid, command: ["nginx"]) { nginxPid = nil }
        return stale.sorted()
    }

    static func isOurs(pid: Int32, command: [String]) -> Bool {
        guard ChildProcess.isAlive(pid) else { return false }
        let running = ChildProcess.commandLine(pid)
        guard let program = command.first.map({ ($0 as NSString).lastPathComponent }), let first = running.first else { return true }
        return first.contains(program)
    }
}

extension JSONEncoder {
    static var swiftdeploy: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        return encoder
    }
}

extension JSONDecoder {
    static var swiftdeploy: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }
}
