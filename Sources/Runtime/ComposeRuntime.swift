import Foundation
import Manifest
import Render
import Telemetry
import Spawn
import Vocabulary

/// Drives `docker compose` with the generated docker-compose.yml: each track is a compose
/// service, nginx another, and `stack.json` records their containers like the local runtime
/// records its processes. Every action first checks that a Docker engine answers, and says so
/// clearly when none does.
public struct ComposeRuntime: Runtime {
    public let manifest: Manifest
    public let manifestHash: String

    public init(manifest: Manifest, manifestHash: String) {
        self.manifest = manifest
        self.manifestHash = manifestHash
    }

    public var publicURL: String { "http://127.0.0.1:\(manifest.nginx.port)" }

    /// The generated nginx.conf, which the nginx service mounts.
    var configFile: String { "\(manifest.directory)/nginx.conf" }

    /// Throws unless `docker info` answers: the engine is needed for every compose action.
    public func requireEngine() throws(ProcessError) {
        let result: (status: Int32, output: String)
        do {
            result = try ChildProcess.run(["docker", "info", "--format", "{{.ServerVersion}}"])
        } catch {
            throw ProcessError("runtime compose needs the docker CLI and a running Docker engine: \(error). Use `runtime: local` to run without Docker.")
        }
        guard result.status == 0 else {
            throw ProcessError("runtime compose needs a running Docker engine, and none answers (docker info: \(result.output.split(separator: "\n").first ?? "")). Start Docker, or set `runtime: local` in \(manifest.file).")
        }
    }

    @discardableResult
    private func compose(_ arguments: [String]) throws -> String {
        try requireEngine()
        let result = try ChildProcess.run(["docker", "compose", "-f", "\(manifest.directory)/docker-compose.yml", "-p", manifest.name] + arguments)
        guard result.status == 0 else { throw ProcessError("docker compose \(arguments.joined(separator: " ")) failed:\n\(result.output)") }
        return result.output
    }

    private func serviceName(_ track: Track) -> String {
        track == .stable ? manifest.service.name : "\(manifest.service.name)-canary"
    }

    /// The running container of a compose service, if any.
    private func container(_ service: String) -> Instance? {
        guard let output = try? compose(["ps", "-q", service]),
              let id = output.split(separator: "\n").first.map(String.init), !id.isEmpty else { return nil }
        let instance = Instance.container(id: id)
        return isRunning(instance) ? instance : nil
    }

    public func isRunning(_ instance: Instance) -> Bool {
        guard case .container(let id) = instance,
              let result = try? ChildProcess.run(["docker", "inspect", "--format", "{{.State.Running}}", id]) else { return false }
        return result.status == 0 && result.output.trimmingCharacters(in: .whitespacesAndNewlines) == "true"
    }

    public func nginxConfig(for routing: Routing) -> String {
        NginxConfig.render(manifest, target: .compose, routing: routing, manifestHash: manifestHash)
    }

    public func runningNginx() -> (instance: Instance, configFile: String)? {
        container("nginx").map { ($0, configFile) }
    }

    public func launch(_ track: Track, _ spec: TrackSpec) async throws -> StackState.TrackRecord {
        let service = serviceName(track)
        try compose(["up", "-d", "--wait", service])
        guard let instance = container(service) else {
            throw ProcessError("docker compose started \(service), but no container of it runs; see `docker compose -p \(manifest.name) logs \(service)`")
        }
        return StackState.TrackRecord(instance: instance, port: spec.ports.first ?? 0, version: spec.version, startedAt: Date(),
                                      log: "docker compose -p \(manifest.name) logs \(service)", spec: spec)
    }

    public func route(_ routing: Routing) async throws {
        try FileWriter.write(nginxConfig(for: routing), to: configFile)
        try compose(["up", "-d", "--wait", "nginx"])
        try compose(["exec", "-T", "nginx", "nginx", "-s", "reload"])
        try update { state in
            state.nginx = runningNginx()?.instance
            state.routing = routing
        }
    }

    /// Stops the container, unless a track still runs in it (compose keeps an unchanged service's container).
    public func retire(_ record: StackState.TrackRecord) async {
        guard case .container(let id) = record.instance,
              (try? state().tracks.values.contains { $0.instance == record.instance }) != true else { return }
        _ = try? ChildProcess.run(["docker", "rm", "-f", id])
    }

    public func teardown() async throws {
        try compose(["down"])
        try? FileManager.default.removeItem(atPath: StackState.file(in: stateDirectory))
    }
}
