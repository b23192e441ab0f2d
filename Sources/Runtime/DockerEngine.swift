import Foundation
import Spawn
import Vocabulary

/// The Docker engine the compose runtime drives, through the docker CLI: whatever engine the CLI
/// reaches (DOCKER_HOST, a docker context, or the default socket) is the one used, as users set it up.
/// Compose is `docker compose` (the v2 plugin) when the CLI has it, else `docker-compose` (v1).
public struct DockerEngine: Sendable {
    /// Which compose program runs the compose file.
    public enum Compose: String, Sendable {
        case plugin = "docker compose"
        case standalone = "docker-compose"

        var command: [String] { self == .plugin ? ["docker", "compose"] : ["docker-compose"] }
    }

    /// The engine's version, as `docker info` reports it.
    public let serverVersion: String
    public let compose: Compose

    /// Connects to the engine the CLI reaches; throws what is missing and how to get it.
    public static func connect(manifestFile: String) throws(ProcessError) -> DockerEngine {
        let info: (status: Int32, output: String)
        do {
            info = try ChildProcess.run(["docker", "info", "--format", "{{.ServerVersion}}"])
        } catch {
            throw ProcessError("runtime compose needs the docker CLI and a running Docker engine: \(error). Install them (scripts/setup.sh does), or set `runtime: local` in \(manifestFile) to run without Docker.")
        }
        let version = info.output.trimmingCharacters(in: .whitespacesAndNewlines)
        guard info.status == 0, !version.isEmpty, !version.contains(" ") else {
            let host = ProcessInfo.processInfo.environment["DOCKER_HOST"].map { "DOCKER_HOST=\($0)" } ?? "the default socket"
            throw ProcessError("runtime compose needs a running Docker engine, and none answers at \(host) (docker info: \(info.output.split(separator: "\n").last ?? "")). Start Docker (scripts/dockerd start runs a private one), or set `runtime: local` in \(manifestFile).")
        }
        if (try? ChildProcess.run(["docker", "compose", "version"]))?.status == 0 {
            return DockerEngine(serverVersion: version, compose: .plugin)
        }
        if (try? ChildProcess.run(["docker-compose", "version"]))?.status == 0 {
            return DockerEngine(serverVersion: version, compose: .standalone)
        }
        throw ProcessError("runtime compose needs Docker Compose, and neither `docker compose` (v2) nor `docker-compose` (v1) runs; install one (scripts/setup.sh installs docker-compose)")
    }

    /// Runs compose on `file` as project `project`.
    @discardableResult
    public func compose(file: String, project: String, _ arguments: [String]) throws(ProcessError) -> String {
        try Docker.checked(compose.command + ["-f", file, "-p", project] + arguments, saying: "\(compose.rawValue) \(arguments.joined(separator: " "))")
    }
}

/// The docker CLI's commands the runtimes and the image builder use; each throws the CLI's own words.
public enum Docker {
    /// Runs `docker ARGUMENTS`.
    @discardableResult
    /// `docker ARGUMENTS`, with `environment` added to the CLI's own (values `--env NAME` passes on).
    public static func run(_ arguments: [String], environment: [String: String] = [:]) throws(ProcessError) -> String {
        try checked(["docker"] + arguments, environment: environment)
    }

    static func checked(_ command: [String], saying: String? = nil, environment: [String: String] = [:]) throws(ProcessError) -> String {
        let result = try ChildProcess.run(command, environment: environment)
        guard result.status == 0 else {
            throw ProcessError("\(saying ?? command.prefix(3).joined(separator: " ")) failed (exit \(result.status)):\n\(result.output.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        return result.output
    }

    /// What `docker inspect` says of a container; nil when there is no such container (or no engine).
    public static func inspect(_ container: String) -> ContainerInfo? {
        guard let result = try? ChildProcess.run(["docker", "container", "inspect", container]), result.status == 0,
              let start = result.output.firstIndex(of: "[") else { return nil }
        return (try? JSONDecoder().decode([ContainerInfo].self, from: Data(result.output[start...].utf8)))?.first
    }

    /// Ids of the containers (running or not) that carry `label`.
    public static func containers(label: String) -> [String] {
        guard let output = try? run(["ps", "--all", "--quiet", "--no-trunc", "--filter", "label=\(label)"]) else { return [] }
        return output.split(separator: "\n").map(String.init)
    }

    /// Whether an image is present in the engine.
    public static func hasImage(_ reference: String) -> Bool {
        (try? ChildProcess.run(["docker", "image", "inspect", "--format", "{{.Id}}", reference]))?.status == 0
    }

    /// The last lines a container wrote.
    public static func logs(_ container: String, lines: Int = 10) -> String {
        (try? ChildProcess.run(["docker", "logs", "--tail", String(lines), container]))?.output ?? ""
    }
}

/// The parts of `docker inspect`'s answer the runtime reads (Docker's keys are capitalised).
public struct ContainerInfo: Decodable, Sendable {
    public struct State: Decodable, Sendable {
        public struct Health: Decodable, Sendable {
            public struct Probe: Decodable, Sendable {
                public let exitCode: Int
                public let output: String
                enum CodingKeys: String, CodingKey { case exitCode = "ExitCode", output = "Output" }
            }

            /// starting, healthy or unhealthy.
            public let status: String
            public let log: [Probe]?
            enum CodingKeys: String, CodingKey { case status = "Status", log = "Log" }
        }

        /// created, running, restarting, exited, …
        public let status: String
        public let running: Bool
        public let pid: Int32
        public let exitCode: Int
        public let health: Health?
        enum CodingKeys: String, CodingKey {
            case status = "Status", running = "Running", pid = "Pid", exitCode = "ExitCode", health = "Health"
        }
    }

    public struct Config: Decodable, Sendable {
        public let image: String
        public let labels: [String: String]?
        enum CodingKeys: String, CodingKey { case image = "Image", labels = "Labels" }
    }

    public let id: String
    public let name: String
    public let restartCount: Int
    public let state: State
    public let config: Config

    enum CodingKeys: String, CodingKey {
        case id = "Id", name = "Name", restartCount = "RestartCount", state = "State", config = "Config"
    }

    /// Health in one word: Docker's health status, or the container's state when the image has no check.
    public var health: String { state.health?.status ?? state.status }
}
