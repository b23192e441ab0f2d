import Foundation
import Manifest
import Telemetry

/// Drives `docker compose` with the generated docker-compose.yml. Fails with a clear message
/// where no Docker engine answers.
public struct ComposeRuntime: Runtime {
    public let manifest: Manifest

    public init(manifest: Manifest) { self.manifest = manifest }

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

    public func start(_ track: Track) async throws -> StackState.TrackRecord {
        let service = track == .stable ? manifest.service.name : "\(manifest.service.name)-canary"
        try compose(["up", "-d", "--wait", service])
        let version = track == .stable ? manifest.service.version : manifest.service.canary?.version ?? ""
        let port = track == .stable ? manifest.service.port : manifest.service.canary?.port ?? 0
        return StackState.TrackRecord(pid: 0, port: port, version: version, command: [], startedAt: Date(), log: "docker compose logs \(service)")
    }

    public func stop(_ track: Track) async throws {
        try compose(["stop", track == .stable ? manifest.service.name : "\(manifest.service.name)-canary"])
    }

    public func route(canaryWeight: Int?) async throws {
        try compose(["up", "-d", "--wait", "nginx"])
        try compose(["exec", "nginx", "nginx", "-s", "reload"])
    }

    public func teardown() async throws { try compose(["down"]) }

    public func state() throws -> StackState {
        try requireEngine()
        return StackState()
    }
}
