import Foundation
import AsyncHTTPClient
import EdgeTLS
import Manifest
import Render
import Web
import Spawn
import Telemetry
import Vocabulary

/// How to run one instance of a track.
public struct TrackSpec: Sendable, Equatable, Codable {
    public var command: [String]
    public var image: String?
    /// Ports to try, in order: the track's own, then its other slot (so a replacement can start
    /// while the instance it replaces still serves).
    public var ports: [Int]
    public var version: String
    public var env: [String: String]
    /// Secrets (`env_file`): the file's path, read when an instance starts; its values are never stored.
    public var envFile: String?

    public init(command: [String], image: String?, ports: [Int], version: String, env: [String: String], envFile: String? = nil) {
        self.command = command
        self.image = image
        self.ports = ports
        self.version = version
        self.env = env
        self.envFile = envFile
    }

    /// The instance's variables: the env_file's, then `env` over them (as Compose does).
    public func environment() throws(EnvFileError) -> [String: String] {
        guard let envFile else { return env }
        if let problem = EnvFile.problem(at: envFile) { throw EnvFileError(description: "env_file: \(problem)") }
        return try EnvFile.read(envFile).merging(env) { $1 }
    }

    /// A port's other slot: 10000 above it, or below when that would pass 65535.
    public static func slots(_ port: Int) -> [Int] { [port, port + 10000 <= 65535 ? port + 10000 : port - 10000] }

    /// The manifest's stable and canary tracks.
    public static func stable(_ manifest: Manifest) -> TrackSpec {
        let service = manifest.service
        return TrackSpec(command: service.command ?? [], image: service.image, ports: slots(service.port), version: service.version, env: service.env,
                         envFile: service.envFile)
    }

    public static func canary(_ manifest: Manifest) -> TrackSpec? {
        guard let canary = manifest.service.canary else { return nil }
        return TrackSpec(command: canary.command ?? [], image: canary.image, ports: slots(canary.port), version: canary.version,
                         env: manifest.service.env.merging(canary.env) { $1 }, envFile: canary.envFile)
    }
}

/// Brings a manifest's instances and its nginx up and down. Use cases compose these steps into
/// zero-downtime moves: launch the new instance, route to it, then retire the old one. Both
/// runtimes keep the same `stack.json` under the state directory; what differs is how an instance
/// runs: `LocalRuntime` runs child processes and a real nginx, `ComposeRuntime` containers through
/// `docker compose`.
public protocol Runtime: Sendable {
    var manifest: Manifest { get }
    /// What runs the stack, in a few words (`compose (Docker 20.10.24, docker-compose)`); throws
    /// when that is missing, before anything starts.
    func summary() throws -> String
    /// Whether an instance this runtime started still runs.
    func isRunning(_ instance: Instance) -> Bool
    /// What the runtime knows of an instance beyond its record (a container's image, Docker's health, restarts).
    func details(_ instance: Instance) -> InstanceDetails
    /// Starts an instance serving `track` on the first free port of `spec`, and returns once it
    /// answers its health check. It is neither routed to nor recorded yet.
    func launch(_ track: Track, _ spec: TrackSpec) async throws -> StackState.TrackRecord
    /// Points nginx at `routing` (starting it if needed), records the routing, and returns once
    /// every old worker has finished its requests.
    func route(_ routing: Routing) async throws
    /// Stops an instance nginx no longer sends traffic to.
    func retire(_ record: StackState.TrackRecord) async
    /// Stops nginx and every instance, and removes the runtime state.
    func teardown() async throws
    /// The nginx configuration this runtime serves `routing` with.
    func nginxConfig(for routing: Routing) -> String
    /// The stack's running nginx and the file it reads its configuration from; nil when it does not run.
    func runningNginx() -> (instance: Instance, configFile: String)?
    /// The file on this host the stack's nginx writes its access log to (the canary's evidence).
    var accessLog: String { get }
}

/// Checks the manifest's certificate and key (`nginx.tls`) and copies them beside `configFile`,
/// where the rendered nginx.conf reads them; nothing when TLS is off. A pair that fails the checks
/// never reaches nginx: the running edge keeps the pair it has.
public func installEdgeCertificate(_ manifest: Manifest, nextTo configFile: String, owner: (uid: UInt32, gid: UInt32)? = nil) throws(EdgeTLSError) {
    guard let tls = manifest.nginx.tls else { return }
    let folder = (configFile as NSString).deletingLastPathComponent
    try EdgeCertificate(certificateFile: tls.certificate, keyFile: tls.key)
        .install(certificateTo: "\(folder)/\(NginxConfig.installedCertificate)", keyTo: "\(folder)/\(NginxConfig.installedKey)", owner: owner)
}

/// The ports nginx listens on: `nginx.port`, and the HTTPS port when TLS is on.
public func edgePorts(_ manifest: Manifest) -> [Int] { [manifest.nginx.port] + (manifest.nginx.tls.map { [$0.port] } ?? []) }

/// What the runtime knows of an instance beyond its record: a container's image, its health in
/// words (Docker's, or the supervisor's `restarting (exited with status 1; 2 restarts)`), restarts,
/// and whether the app is up, restarting or failed (a supervised process).
public struct InstanceDetails: Sendable, Equatable {
    public var image: String?
    public var health: String?
    public var restarts: Int?
    public var state: Supervisor.Status.State?

    public init(image: String? = nil, health: String? = nil, restarts: Int? = nil, state: Supervisor.Status.State? = nil) {
        (self.image, self.health, self.restarts, self.state) = (image, health, restarts, state)
    }
}

extension Runtime {
    public var stateDirectory: String { manifest.stateDirectory }

    /// The URL clients use: nginx on this host, with either runtime; HTTPS when `nginx.tls` is set.
    public var publicURL: String {
        let host = manifest.nginx.listen == "0.0.0.0" ? "127.0.0.1" : manifest.nginx.listen
        let bracketed = host.contains(":") ? "[\(host)]" : host
        if let tls = manifest.nginx.tls { return "https://\(bracketed):\(tls.port)" }
        return "http://\(bracketed):\(manifest.nginx.port)"
    }

    /// The client that reaches `publicURL`: over HTTPS it trusts the edge's own certificate.
    public var edgeClient: HTTPClient {
        manifest.nginx.tls.map { HTTP.client(trusting: $0.certificate) } ?? .shared
    }

    /// What was started, running or not (a track whose process died is still here: `status`,
    /// `diff` and `logs` show it).
    public func recorded() throws(ProcessError) -> StackState { try StackState.load(from: stateDirectory) }

    /// What is running now, records of instances that stopped dropped.
    public func state() throws(ProcessError) -> StackState {
        var state = try recorded()
        _ = state.forgetStale(isRunning)
        if runningNginx() == nil { state.nginx = nil }
        return state
    }

    /// Changes the persisted state.
    public func update(_ change: (inout StackState) -> Void) throws(ProcessError) {
        var state = try state()
        change(&state)
        try state.save(to: stateDirectory)
    }
}
