import Foundation
import Manifest
import Render
import Telemetry
import Spawn
import Vocabulary
import Web

#if canImport(Glibc)
import Glibc
#endif

/// Runs the manifest's tracks as containers on a Docker engine, with the same moves and guarantees
/// as the local runtime. Compose creates the project's network and its nginx container from the
/// generated docker-compose.yml; each app instance is a container of its own (the service the
/// compose file declares for its track, on a port slot: `NAME-SERVICE-PORT`), so a replacement
/// starts and becomes healthy beside the instance it replaces before nginx switches to it.
/// nginx reads its configuration from, and writes its access log to, folders of the state directory
/// mounted into its container: the guard and the canary analysis read the same file as on `local`.
public struct ComposeRuntime: Runtime {
    public let manifest: Manifest
    public let manifestHash: String

    public init(manifest: Manifest, manifestHash: String) {
        self.manifest = manifest
        self.manifestHash = manifestHash
    }

    /// The folders mounted into the nginx container, and the live configuration nginx reads.
    var configDirectory: String { "\(stateDirectory)/nginx/conf" }
    var logDirectory: String { "\(stateDirectory)/nginx/logs" }
    /// The container's log folder is mounted here (`ComposeFile`).
    public var accessLog: String { "\(logDirectory)/access.log" }
    var configFile: String { "\(configDirectory)/nginx.conf" }
    var composeFile: String { "\(manifest.directory)/docker-compose.yml" }

    /// The engine, or why there is none.
    public func engine() throws(ProcessError) -> DockerEngine { try DockerEngine.connect(manifestFile: manifest.file) }

    public func summary() throws -> String {
        let engine = try engine()
        return "compose: Docker \(engine.serverVersion), \(engine.compose.rawValue)"
    }

    private func compose(_ engine: DockerEngine, _ arguments: [String]) throws(ProcessError) {
        try engine.compose(file: composeFile, project: manifest.name, arguments)
    }

    public func isRunning(_ instance: Instance) -> Bool {
        guard case .container(let id) = instance else { return false }
        return Docker.inspect(id)?.state.running == true
    }

    public func details(_ instance: Instance) -> InstanceDetails {
        guard case .container(let id) = instance, let info = Docker.inspect(id) else { return InstanceDetails() }
        return InstanceDetails(image: info.config.image, health: info.health, restarts: info.restartCount)
    }

    public func nginxConfig(for routing: Routing) -> String {
        NginxConfig.render(manifest, target: .compose, routing: routing, manifestHash: manifestHash)
    }

    public func runningNginx() -> (instance: Instance, configFile: String)? {
        guard let info = Docker.inspect(ComposeFile.nginxName(manifest)), info.state.running else { return nil }
        return (.container(id: info.id), configFile)
    }

    public func launch(_ track: Track, _ spec: TrackSpec) async throws -> StackState.TrackRecord {
        let engine = try engine()
        let field = "services.\(manifest.service.name)\(track == .canary ? ".canary" : "").image"
        guard let image = spec.image, !image.isEmpty else { throw ProcessError("\(field) is empty; runtime compose runs the service from an image") }
        try requireImage(image, field: field)
        let running = { (port: Int) in Docker.inspect(ComposeFile.instanceName(self.manifest, port: port))?.state.running == true }
        let port = try PortProbe.firstFree(spec.ports.filter { !running($0) }, for: "the \(track) track", ours: running,
                                           field: "services.\(manifest.service.name)\(track == .canary ? ".canary" : "").port in \(manifest.file)")
        let name = ComposeFile.instanceName(manifest, port: port)
        if Docker.inspect(name) != nil { try Docker.run(["rm", "--force", name]) }  // a stopped leftover of an earlier run
        try prepareProject(engine)
        if let envFile = spec.envFile, let problem = EnvFile.problem(at: envFile) { throw ProcessError("env_file: \(problem)") }
        let instance = ComposeFile.Instance(image: image, port: port, version: spec.version, mode: track.rawValue, env: spec.env, envFile: spec.envFile)
        let command = ComposeFile.runCommand(manifest, instance)
        let id = try Docker.run(command.arguments, environment: command.environment).trimmingCharacters(in: .whitespacesAndNewlines)
        do {
            try await waitHealthy(id: id, port: port)
            return StackState.TrackRecord(instance: .container(id: id), port: port, version: spec.version, startedAt: Date(),
                                          log: "docker logs \(name)", spec: spec)
        } catch {
            let logs = Docker.logs(id)
            _ = try? Docker.run(["rm", "--force", id])
            throw LaunchError(track: track, version: "\(spec.version), image \(image)", reason: "\(error)", log: "docker logs \(name)",
                              lastLines: LaunchError.thisStart(logs))
        }
    }

    /// Waits for Docker to call the container healthy (when its image has a health check) and for
    /// the health path to answer 200 on its loopback port.
    private func waitHealthy(id: String, port: Int) async throws {
        let health = manifest.service.healthcheck
        try await HealthWait.until200("http://127.0.0.1:\(port)\(health.path)", timeout: health.timeout, interval: health.interval) {
            () throws(ProcessError) -> String? in
            guard let info = Docker.inspect(id) else { throw ProcessError("the container was removed") }
            guard info.state.running else { throw ProcessError("the container stopped (\(info.state.status), exit code \(info.state.exitCode))") }
            guard let probe = info.state.health, probe.status != "healthy" else { return nil }
            if probe.status == "unhealthy" { throw ProcessError("Docker reports it unhealthy: \(probe.log?.last?.output ?? "")") }
            return "Docker health: \(probe.status)"
        }
    }

    private func requireImage(_ image: String, field: String) throws(ProcessError) {
        guard Docker.hasImage(image) else {
            throw ProcessError("image \(image) (\(field) in \(manifest.file)) is not in the Docker engine; build it with `swiftdeploy image build` or pull it (`docker pull \(image)`)")
        }
    }

    /// The state folders nginx mounts: its configuration readable, its log folder owned by its user
    /// (it can write its log but nothing else of ours).
    private func prepareFolders() throws(ProcessError) {
        try FileWriter.makeDirectory(configDirectory)
        try FileWriter.makeDirectory(logDirectory)
        if geteuid() == 0 { chown(logDirectory, uid_t(ComposeFile.nginxUser.uid), gid_t(ComposeFile.nginxUser.gid)) }
        chmod(configDirectory, 0o755)
    }

    /// The folders, and the project's network an instance joins (made by compose with the nginx
    /// container, which is not started yet).
    private func prepareProject(_ engine: DockerEngine) throws(ProcessError) {
        try prepareFolders()
        if (try? Docker.run(["network", "inspect", "--format", "{{.Id}}", manifest.network.name])) == nil {
            try requireImage(manifest.nginx.image, field: "nginx.image")
            try compose(engine, ["up", "--no-start", "--no-deps", "nginx"])
        }
    }

    public func route(_ routing: Routing) async throws {
        let engine = try engine()
        // An instance was launched first, so the network exists; `up` below makes it otherwise.
        try prepareFolders()
        try installEdgeCertificate(manifest, nextTo: configFile, owner: (UInt32(ComposeFile.nginxUser.uid), UInt32(ComposeFile.nginxUser.gid)))
        try FileWriter.write(nginxConfig(for: routing), to: configFile)
        let name = ComposeFile.nginxName(manifest)
        if let info = Docker.inspect(name), info.state.running {
            let test = try ChildProcess.run(["docker", "exec", name, "nginx", "-t", "-q", "-c", "\(ComposeFile.nginxConfigDirectory)/nginx.conf"])
            guard test.status == 0 else { throw ProcessError("nginx -t rejected \(configFile):\n\(test.output.trimmingCharacters(in: .whitespacesAndNewlines))") }
            try await NginxServer.reload(master: info.state.pid, seeLog: "docker logs \(name)") { () throws(ProcessError) in
                try Docker.run(["kill", "--signal", "HUP", name])
            }
        } else {
            try compose(engine, ["up", "--detach", "--no-deps", "nginx"])
            try await waitServing(name: name)
        }
        try update { state in
            state.nginx = runningNginx()?.instance
            state.routing = routing
        }
    }

    /// Waits until the new nginx container (on the host's network) answers on the public URL.
    private func waitServing(name: String) async throws {
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            guard let info = Docker.inspect(name), info.state.running else {
                throw ProcessError("the nginx container \(name) stopped at start-up:\n\(Docker.logs(name))")
            }
            // An HTTP answer (any status) means nginx itself serves.
            if (try? await HTTP.get(publicURL, timeout: .seconds(1), client: edgeClient)) != nil { return }
            try? await Task.sleep(for: .milliseconds(50))
        }
        throw ProcessError("the nginx container \(name) did not answer on \(publicURL) within 10 s; see `docker logs \(name)`")
    }

    /// Stops an instance nginx no longer sends traffic to (its requests have finished), and removes it.
    public func retire(_ record: StackState.TrackRecord) async {
        guard case .container(let id) = record.instance else { return }
        _ = try? Docker.run(["stop", "--time", "10", id])
        _ = try? Docker.run(["rm", "--force", id])
    }

    /// Removes every container of the project (by its label), then what compose made: network and nginx.
    public func teardown() async throws {
        let engine = try engine()
        let containers = Docker.containers(label: ComposeFile.projectLabel(manifest))
        if !containers.isEmpty { try Docker.run(["rm", "--force"] + containers) }
        try compose(engine, ["down", "--volumes", "--remove-orphans"])
        try? FileManager.default.removeItem(atPath: StackState.file(in: stateDirectory))
    }
}
