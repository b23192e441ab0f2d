import Foundation
import Manifest
import Render
import Telemetry
import Spawn
import Vocabulary

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

    public var logDirectory: String { "\(stateDirectory)/logs" }
    public var nginx: NginxServer {
        NginxServer(binary: manifest.nginx.binary, prefix: "\(stateDirectory)/nginx", configFile: "\(stateDirectory)/nginx/nginx.conf")
    }

    public func summary() -> String { "local: processes and \(manifest.nginx.binary)" }

    public var accessLog: String { nginx.accessLog }

    public func isRunning(_ instance: Instance) -> Bool { Self.isRunning(instance) }

    public func details(_ instance: Instance) -> InstanceDetails { InstanceDetails() }

    /// A process of ours runs: alive, and still the program it was started as (pids are reused).
    public static func isRunning(_ instance: Instance) -> Bool {
        guard case .process(let pid, let command) = instance, ChildProcess.isAlive(pid) else { return false }
        let running = ChildProcess.commandLine(pid)
        guard let program = command.first.map({ ($0 as NSString).lastPathComponent }), let first = running.first else { return true }
        return first.contains(program)
    }

    public func nginxConfig(for routing: Routing) -> String {
        NginxConfig.render(manifest, target: .local, routing: routing, manifestHash: manifestHash)
    }

    public func runningNginx() -> (instance: Instance, configFile: String)? {
        let server = nginx
        return server.runningPid().map { (.process(pid: $0, command: ["nginx"]), server.configFile) }
    }

    public func launch(_ track: Track, _ spec: TrackSpec) async throws -> StackState.TrackRecord {
        guard !spec.command.isEmpty else {
            throw ProcessError("services.\(manifest.service.name)\(track == .canary ? ".canary" : "").command is empty; runtime local needs a command")
        }
        guard let port = spec.ports.first(where: { PortProbe.isFree($0) }) else {
            throw ProcessError("ports \(spec.ports.map(String.init).joined(separator: " and ")) for the \(track) track are all in use; stop what holds them (ss -ltnp) or change the port in \(manifest.file)")
        }
        try FileWriter.makeDirectory(logDirectory)
        let log = "\(logDirectory)/\(manifest.service.name)-\(track)-\(port).log"
        let command = spec.command.map { $0.replacingOccurrences(of: "{port}", with: String(port)) }
        var environment = try spec.environment()
        environment["PORT"] = String(port)
        environment["MODE"] = track.rawValue
        environment["APP_VERSION"] = spec.version
        let pid = try ChildProcess.spawn(command, environment: environment, logFile: log)
        let health = "http://127.0.0.1:\(port)\(manifest.service.healthcheck.path)"
        do {
            try await HealthWait.until200(health, timeout: manifest.service.healthcheck.timeout,
                                          interval: manifest.service.healthcheck.interval) { () throws(ProcessError) in
                guard ChildProcess.isAlive(pid) else { throw ProcessError("the process exited") }
                return nil
            }
        } catch {
            await ChildProcess.stop(pid, grace: .seconds(2))
            let tail = ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").split(separator: "\n").suffix(10).joined(separator: "\n")
            throw ProcessError("the \(track) track (\(spec.version)) did not become healthy: \(error)\nlast lines of \(log):\n\(tail)")
        }
        return StackState.TrackRecord(instance: .process(pid: pid, command: command), port: port, version: spec.version, startedAt: Date(),
                                      log: log, spec: spec)
    }

    public func route(_ routing: Routing) async throws {
        let server = nginx
        try server.prepare()
        try installEdgeCertificate(manifest, nextTo: server.configFile)
        try FileWriter.write(nginxConfig(for: routing), to: server.configFile)
        if server.runningPid() != nil {
            try await server.reload()
        } else {
            for port in edgePorts(manifest) where !PortProbe.isFree(port, host: manifest.nginx.listen) {
                throw ProcessError("nginx port \(port) is already in use; stop what holds it (ss -ltnp 'sport = :\(port)') or change \(port == manifest.nginx.port ? "nginx.port" : "nginx.tls.port") in \(manifest.file)")
            }
            try FileWriter.makeDirectory(logDirectory)
            _ = try await server.start(logFile: "\(logDirectory)/nginx.log")
        }
        try update { state in
            state.nginx = runningNginx()?.instance
            state.routing = routing
        }
    }

    public func retire(_ record: StackState.TrackRecord) async {
        guard case .process(let pid, _) = record.instance else { return }
        await ChildProcess.stop(pid)
    }

    public func teardown() async throws {
        let state = try state()
        await nginx.stop()
        for record in state.tracks.values { await retire(record) }
        try? FileManager.default.removeItem(atPath: StackState.file(in: stateDirectory))
    }
}
