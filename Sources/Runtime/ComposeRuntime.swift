import Foundation
import Manifest
import Render
import Telemetry
import Spawn
import Vocabulary

/// Drives `docker compose` with the generated docker-compose.yml. Every action first checks that
/// a Docker engine answers, and says so clearly when none does.
public struct ComposeRuntime: Runtime {
    public let manifest: Manifest

    public init(manifest: Manifest) { self.manifest = manifest }

    public var publicURL: String { "http://127.0.0.1:\(manifest.nginx.port)" }

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

    private func compose(_ arguments: [String]) throws {
        try requireEngine()
        let result = try ChildProcess.run(["docker", "compose", "-f", "\(manifest.directory)/docker-compose.yml", "-p", manifest.name] + arguments)
        guard result.status == 0 else { throw ProcessError("docker compose \(arguments.joined(separator: " ")) failed:\n\(result.output)") }
    }

    private func serviceName(_ track: Track) -> String {
        track == .stable ? manifest.service.name : "\(manifest.service.name)-canary"
    }

    public func state() throws -> StackState {
        try requireEngine()
        return StackState()
    }

    public func launch(_ track: Track, _ spec: TrackSpec) async throws -> StackState.TrackRecord {
        try compose(["up", "-d", "--wait", serviceName(track)])
        return StackState.TrackRecord(pid: 0, port: spec.ports.first ?? 0, version: spec.version, command: [], startedAt: Date(),
                                      log: "docker compose logs \(serviceName(track))", spec: spec)
    }

    public func route(_ routing: Routing) async throws {
        try compose(["up", "-d", "--wait", "nginx"])
        try compose(["exec", "nginx", "nginx", "-s", "reload"])
    }

    public func retire(_ record: StackState.TrackRecord) async {}

    public func update(_ change: (inout StackState) -> Void) throws { try requireEngine() }

    public func teardown() async throws { try compose(["down"]) }
}
