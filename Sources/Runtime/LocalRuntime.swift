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

    /// The supervisor's view: restarts, and whether the app is up, restarting or failed.
    public func details(_ instance: Instance) -> InstanceDetails {
        guard case .process(_, let command) = instance, let flag = command.firstIndex(of: "--status"), flag + 1 < command.count,
              let status = Supervisor.Status.read(command[flag + 1]) else { return InstanceDetails() }
        return InstanceDetails(health: status.summary, restarts: status.restarts, state: status.state)
    }

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
        let ours = (try? recorded())?.ports ?? []
        let port = try PortProbe.firstFree(spec.ports, for: "the \(track) track", ours: ours.contains,
                                           field: "services.\(manifest.service.name)\(track == .canary ? ".canary" : "").port in \(manifest.file)")
        try FileWriter.makeDirectory(logDirectory)
        let log = "\(logDirectory)/\(manifest.service.name)-\(track)-\(port).log"
        let command = spec.command.map { $0.replacingOccurrences(of: "{port}", with: String(port)) }
        var environment = try spec.environment()
        environment["PORT"] = String(port)
        environment["MODE"] = track.rawValue
        environment["APP_VERSION"] = spec.version
        try FileWriter.append(LaunchError.separator(track: track, version: spec.version, port: port, at: Int(Date().timeIntervalSince1970)) + "\n", to: log)
        // The app runs under `swiftdeploy supervise`, which starts it again when it crashes.
        let statusFile = Supervisor.Status.file(forLog: log)
        try? FileManager.default.removeItem(atPath: statusFile)
        let supervised = Supervisor.commandLine(for: command, log: log, track: track, stateDirectory: stateDirectory)
        let pid = try ChildProcess.spawn(supervised, environment: environment, logFile: log)
        let health = "http://127.0.0.1:\(port)\(manifest.service.healthcheck.path)"
        do {
            try await HealthWait.until200(health, timeout: manifest.service.healthcheck.timeout,
                                          interval: manifest.service.healthcheck.interval) { () throws(ProcessError) in
                // At start, an app that ends is broken, not unlucky: no restart is waited for.
                if let status = Supervisor.Status.read(statusFile), status.state != .up { throw ProcessError("it \(status.lastEnding ?? "ended")") }
                guard ChildProcess.isAlive(pid) else { throw ProcessError("its supervisor ended") }
                // Nothing bound yet: say so rather than wait out an HTTP client's connection retries.
                return PortProbe.isFree(port) ? "nothing listens on port \(port) yet" : nil
            }
        } catch {
            await ChildProcess.stop(pid, grace: .seconds(10))
            let ending = Supervisor.Status.read(statusFile)?.lastEnding
            let reason = ending.map { "the process \($0) before \(manifest.service.healthcheck.path) answered" } ?? "\(error)"
            throw LaunchError(track: track, version: spec.version, reason: reason, log: log,
                              lastLines: LaunchError.thisStart((try? String(contentsOfFile: log, encoding: .utf8)) ?? ""))
        }
        return StackState.TrackRecord(instance: .process(pid: pid, command: supervised), port: port, version: spec.version, startedAt: Date(),
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
