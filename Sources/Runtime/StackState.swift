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
        public var instance: Instance
        public var port: Int
        public var version: String
        public var startedAt: Date
        /// Where its output goes: a file, or the command that shows it.
        public var log: String
        /// What it was started from, so a promotion can start the same release as stable.
        public var spec: TrackSpec

        public init(instance: Instance, port: Int, version: String, startedAt: Date, log: String, spec: TrackSpec) {
            (self.instance, self.port, self.version, self.startedAt, self.log, self.spec) = (instance, port, version, startedAt, log, spec)
        }

        /// HOST:PORT this host reaches the instance at (health checks, metrics, chaos): loopback, where
        /// a process listens and a container is published.
        public var address: String { "127.0.0.1:\(port)" }
    }

    public var tracks: [Track: TrackRecord] = [:]

    /// The ports this stack's instances were started on (a port held by one of them is ours, not taken).
    public var ports: Set<Int> { Set(tracks.values.map(\.port)) }
    /// The stack's nginx, while it runs.
    public var nginx: Instance?
    /// What nginx is configured with; nil before the first deploy.
    public var routing: Routing?

    public init() {}

    public static func file(in stateDirectory: String) -> String { "\(stateDirectory)/stack.json" }

    public static func load(from stateDirectory: String) throws(ProcessError) -> StackState {
        let path = file(in: stateDirectory)
        guard let data = FileManager.default.contents(atPath: path) else { return StackState() }
        do {
            return try JSONDecoder.sorted.decode(StackState.self, from: data)
        } catch {
            throw ProcessError("\(path) is unreadable (\(error)); stop the processes it names by hand and delete it")
        }
    }

    public func save(to stateDirectory: String) throws(ProcessError) {
        let path = Self.file(in: stateDirectory)
        do {
            try FileManager.default.createDirectory(atPath: stateDirectory, withIntermediateDirectories: true)
            // It may hold `env:` secrets: born private (`PrivateFile`), never chmod'ed after.
            try PrivateFile.replace(path, with: Array(JSONEncoder.sorted.encode(self)))
        } catch {
            throw ProcessError("cannot write \(path): \(error.localizedDescription) (is the disk full or read-only?)")
        }
    }

    /// Drops the records of instances that no longer run (`isRunning` is the runtime's judgement:
    /// a process gone or a pid now belonging to another program, a container stopped or removed).
    public mutating func forgetStale(_ isRunning: (Instance) -> Bool) -> [Track] {
        var stale: [Track] = []
        for (track, record) in tracks where !isRunning(record.instance) {
            tracks[track] = nil
            stale.append(track)
        }
        if let nginx, !isRunning(nginx) { self.nginx = nil }
        return stale.sorted()
    }
}

/// A running instance as its runtime knows it.
public enum Instance: Codable, Sendable, Equatable, CustomStringConvertible {
    /// A child process of the local runtime, with the command line it was started with (a pid the
    /// kernel has given to another program is not ours).
    case process(pid: Int32, command: [String])
    /// A container of the compose runtime, by id.
    case container(id: String)

    public var description: String {
        switch self {
        case .process(let pid, _): "pid \(pid)"
        case .container(let id): "container \(id.prefix(12))"
        }
    }
}
