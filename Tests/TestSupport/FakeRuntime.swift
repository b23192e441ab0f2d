import Foundation
import Manifest
import Render
import Runtime
import Spawn
import Synchronization
import Vocabulary

/// A runtime that starts nothing: an instance is a number, nginx a list of the routings it was
/// given. State goes through the protocol's own `state()` and `update` into the real `stack.json`,
/// so the use cases read and write it as on a real stack. A test can make the next launch fail.
public final class FakeRuntime: Runtime {
    /// What the use case asked of the runtime, in order.
    public enum Call: Sendable, Equatable {
        case launch(Track, version: String, port: Int)
        case route(Routing)
        case retire(version: String)
        case teardown
    }

    private struct Books: Sendable {
        var running: Set<Int32> = []
        var nextPid: Int32 = 1000
        var calls: [Call] = []
        var failNextLaunch: String?
    }

    public let manifest: Manifest
    private let books = Mutex(Books())
    private static let nginx = Instance.process(pid: 1, command: ["fake-nginx"])

    public init(manifest: Manifest) { self.manifest = manifest }

    public var calls: [Call] { books.withLock { $0.calls } }
    /// The routings nginx was given, in order.
    public var routings: [Routing] { calls.compactMap { if case .route(let routing) = $0 { routing } else { nil } } }
    /// The next launch throws a `ProcessError` with this text (an instance that never turns healthy).
    public func failNextLaunch(_ reason: String) { books.withLock { $0.failNextLaunch = reason } }

    public func summary() -> String { "fake: nothing runs" }
    public var accessLog: String { "\(stateDirectory)/nginx/logs/access.log" }

    public func isRunning(_ instance: Instance) -> Bool {
        guard case .process(let pid, _) = instance else { return false }
        return pid == 1 ? runningNginx() != nil : books.withLock { $0.running.contains(pid) }
    }

    public func details(_ instance: Instance) -> InstanceDetails { InstanceDetails() }

    public func launch(_ track: Track, _ spec: TrackSpec) async throws -> StackState.TrackRecord {
        let pid: Int32 = try books.withLock { books throws(ProcessError) in
            if let reason = books.failNextLaunch {
                books.failNextLaunch = nil
                throw ProcessError(reason)
            }
            books.nextPid += 1
            books.running.insert(books.nextPid)
            books.calls.append(.launch(track, version: spec.version, port: spec.ports[0]))
            return books.nextPid
        }
        return StackState.TrackRecord(instance: .process(pid: pid, command: spec.command), port: spec.ports[0], version: spec.version,
                                      startedAt: Date(), log: "fake", spec: spec)
    }

    public func route(_ routing: Routing) async throws {
        books.withLock { $0.calls.append(.route(routing)) }
        try update {
            $0.routing = routing
            $0.nginx = Self.nginx
        }
    }

    public func retire(_ record: StackState.TrackRecord) async {
        books.withLock { books in
            if case .process(let pid, _) = record.instance { books.running.remove(pid) }
            books.calls.append(.retire(version: record.version))
        }
    }

    public func teardown() async throws {
        books.withLock { books in
            books.running = []
            books.calls.append(.teardown)
        }
        try? FileManager.default.removeItem(atPath: StackState.file(in: stateDirectory))
    }

    public func nginxConfig(for routing: Routing) -> String { "# fake nginx: \(routing)\n" }

    public func runningNginx() -> (instance: Instance, configFile: String)? {
        books.withLock { $0.calls.contains { if case .route = $0 { true } else { false } } } ? (Self.nginx, "\(stateDirectory)/nginx/nginx.conf") : nil
    }
}
