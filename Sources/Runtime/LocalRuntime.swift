import Foundation
import Manifest
import Render
import Telemetry

#if canImport(Glibc)
import Glibc
#endif

/// Runs the manifest's tracks as child processes and a real nginx on this host; no Docker needed.
/// Everything lives under the state directory: `stack.json`, `logs/`, and nginx's prefix `nginx/`.
public struct LocalRuntime: Runtime {
    public let manifest: Manifest
    public let manifestHash: String

    public init(manifest: Manifest, manifestHash: String) {
        self.manifest = manifest
        self.manifestHash = manifestHash
    }

    public var stateDirectory: String { manifest.stateDirectory }
    public var logDirectory: String { "\(stateDirectory)/logs" }
    public var nginx: NginxServer {
        NginxServer(binary: manifest.nginx.binary, prefix: "\(stateDirectory)/nginx", configFile: "\(stateDirectory)/nginx/nginx.conf")
    }

    /// The URL clients use: nginx's listen address and port.
    public var publicURL: String {
        let host = manifest.nginx.listen == "0.0.0.0" ? "127.0.0.1" : manifest.nginx.listen
        return "http://\(host.contains(":") ? "[\(host)]" : host):\(manifest.nginx.port)"
    }

    public func state() throws(ProcessError) -> StackState {
        var state = try StackState.load(from: stateDirectory)
        _ = state.forgetStale()
        return state
    }

    struct TrackSpec {
        let command: [String]
        let port: Int
        let version: String
        let env: [String: String]
    }

    func spec(_ track: Track) throws(ProcessError) -> TrackSpec {
        let service = manifest.service
        switch track {
        case .stable:
            return TrackSpec(command: service.command ?? [], port: service.port, version: service.version, env: service.env)
        case .canary:
            guard let canary = service.canary else {
                throw ProcessError("\(manifest.file): services.\(service.name).canary is not configured; add a canary section first")
            }
            return TrackSpec(command: canary.command ?? [], port: canary.port, version: canary.version,
                             env: service.env.merging(canary.env) { $1 })
        }
    }

    public func start(_ track: Track) async throws -> StackState.TrackRecord {
        let spec = try spec(track)
        var state = try state()
        if let running = state.tracks[track], running.version == spec.version, running.port == spec.port {
            return running
        }
        if let running = state.tracks[track] {
            throw ProcessError("the \(track) track already runs version \(running.version) (pid \(running.pid)); roll out a new version with `swiftdeploy deploy` after stopping it")
        }
        guard !spec.command.isEmpty else { throw ProcessError("services.\(manifest.service.name).command is empty") }
        guard PortProbe.isFree(spec.port) else {
            throw ProcessError("port \(spec.port) for the \(track) track is already in use; stop what holds it (ss -ltnp 'sport = :\(spec.port)') or change the port in \(manifest.file)")
        }
        try createDirectory(logDirectory)
        let log = "\(logDirectory)/\(manifest.service.name)-\(track).log"
        let command = spec.command.map { $0.replacingOccurrences(of: "{port}", with: String(spec.port)) }
        var environment = spec.env
        environment["PORT"] = String(spec.port)
        environment["MODE"] = track.rawValue
        environment["APP_VERSION"] = spec.version
        let pid = try ChildProcess.spawn(command, environment: environment, logFile: log)
        let health = "http://127.0.0.1:\(spec.port)\(manifest.service.healthcheck.path)"
        do {
            try await HealthWait.until200(health, timeout: manifest.service.healthcheck.timeout,
                                          interval: manifest.service.healthcheck.interval) { ChildProcess.isAlive(pid) }
        } catch {
            await ChildProcess.stop(pid, grace: .seconds(2))
            let tail = ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").split(separator: "\n").suffix(10).joined(separator: "\n")
            throw ProcessError("the \(track) track did not become healthy: \(error)\nlast lines of \(log):\n\(tail)")
        }
        let record = StackState.TrackRecord(pid: pid, port: spec.port, version: spec.version, command: command, startedAt: Date(), log: log)
        state = try self.state()
        state.tracks[track] = record
        try state.save(to: stateDirectory)
        return record
    }

    public func stop(_ track: Track) async throws {
        var state = try state()
        guard let record = state.tracks[track] else { return }
        await ChildProcess.stop(record.pid)
        state.tracks[track] = nil
        try state.save(to: stateDirectory)
    }

    public func route(canaryWeight: Int?) async throws {
        var state = try state()
        let server = nginx
        try server.prepare()
        let config = NginxConfig.render(manifest, target: .local, canaryWeight: canaryWeight, manifestHash: manifestHash)
        try write(config, to: server.configFile)
        if server.runningPid() != nil {
            try await server.reload()
        } else {
            guard PortProbe.isFree(manifest.nginx.port, host: manifest.nginx.listen) else {
                throw ProcessError("nginx port \(manifest.nginx.port) is already in use; stop what holds it (ss -ltnp 'sport = :\(manifest.nginx.port)') or change nginx.port in \(manifest.file)")
            }
            try createDirectory(logDirectory)
            state.nginxPid = try await server.start(logFile: "\(logDirectory)/nginx.log")
        }
        state.nginxPid = server.runningPid()
        state.canaryWeight = canaryWeight
        try state.save(to: stateDirectory)
    }

    public func teardown() async throws {
        await nginx.stop()
        for track in Track.allCases.reversed() { try await stop(track) }
        var state = try state()
        state.nginxPid = nil
        state.canaryWeight = nil
        try state.save(to: stateDirectory)
    }

    private func createDirectory(_ path: String) throws(ProcessError) {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw ProcessError("cannot create \(path): \(error.localizedDescription)")
        }
    }

    private func write(_ text: String, to path: String) throws(ProcessError) {
        do {
            try Data(text.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw ProcessError("cannot write \(path): \(error.localizedDescription) (is the disk full or read-only?)")
        }
    }
}
