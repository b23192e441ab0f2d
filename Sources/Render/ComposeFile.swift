import Manifest
import Yams
import Vocabulary

/// docker-compose.yml as a model, encoded with Yams (never string templates) so the output is
/// always valid YAML and its key order is fixed.
public enum ComposeFile {
    /// Where nginx reads its configuration inside its container: the state directory's `nginx/conf`,
    /// mounted as a folder so a rewritten file (a new inode) is seen by the next reload.
    public static let nginxConfigDirectory = "/etc/swiftdeploy"
    /// Where nginx logs inside its container: the state directory's `nginx/logs`, so the guard and
    /// canary analysis on the host read the same file as with the local runtime.
    public static let nginxLogDirectory = "/var/log/swiftdeploy"
    /// The user the nginx container runs as: `nginx` (101) in the official image and in ours.
    public static let nginxUser = (uid: 101, gid: 101)
    public static let opaImage = "openpolicyagent/opa:1.4.2-static"
    /// OPA's own authorization policy for the sidecar, generated beside docker-compose.yml.
    public static let opaAuthzFile = "opa-authz.rego"
    public static let opaAuthz = String(decoding: PackageResources.authz_rego, as: UTF8.self)

    public static func render(_ manifest: Manifest, manifestHash: String) throws -> String {
        let header = GeneratedHeader.lines(comment: "#", manifestHash: manifestHash, manifestName: manifest.name)
        let encoder = YAMLEncoder()
        encoder.options = .init(indent: 2, width: -1, sortKeys: false)
        return header + (try encoder.encode(model(manifest)))
    }

    /// The container name of the app instance listening on `port` (each port slot is one container).
    public static func instanceName(_ manifest: Manifest, port: Int) -> String { "\(manifest.name)-\(manifest.service.name)-\(port)" }
    public static func nginxName(_ manifest: Manifest) -> String { "\(manifest.name)-nginx" }
    /// The label every container of the project carries, for `teardown` and `status`.
    public static func projectLabel(_ manifest: Manifest) -> String { "\(labelPrefix).project=\(manifest.name)" }
    public static let labelPrefix = "io.swiftdeploy"

    /// One app instance as the compose file declares it and as the compose runtime starts it.
    public struct Instance: Sendable {
        public var image: String
        public var port: Int
        public var version: String
        /// stable or canary.
        public var mode: String
        public var env: [String: String]
        /// Secrets: Docker reads this file itself (`--env-file`), so no value is in an argument or the compose file.
        public var envFile: String?

        public init(image: String, port: Int, version: String, mode: String, env: [String: String], envFile: String? = nil) {
            (self.image, self.port, self.version, self.mode, self.env, self.envFile) = (image, port, version, mode, env, envFile)
        }
    }

    /// `docker run` for an instance: the same service the compose file declares for its track, on
    /// the instance's own port slot. The environment's values are not in the arguments (which any
    /// user sees in `ps`): the arguments name each variable (`--env NAME`) and the docker CLI's own
    /// environment, readable by its user alone, holds the values.
    public static func runCommand(_ manifest: Manifest, _ instance: Instance) -> (arguments: [String], environment: [String: String]) {
        app(manifest, instance).runCommand()
    }

    static func model(_ manifest: Manifest) -> Document {
        let service = manifest.service
        let network = manifest.network.name
        var services = OrderedMap<ComposeService>()
        services[service.name] = app(manifest, Instance(image: service.image ?? "", port: service.port, version: service.version,
                                                        mode: "stable", env: service.env, envFile: service.envFile))
        if let canary = service.canary {
            services["\(service.name)-canary"] = app(manifest, Instance(image: canary.image ?? service.image ?? "", port: canary.port,
                                                                        version: canary.version, mode: "canary",
                                                                        env: service.env.merging(canary.env) { $1 }, envFile: canary.envFile))
        }
        // nginx shares the host's network, as on runtime local: it sees each client's own address
        // (Docker's port proxy would show its own instead, and the guard would see one client), the
        // guard's bans apply to it in the input path whatever Docker does with iptables, and it
        // reaches the apps on the loopback ports they publish.
        let state = relativeStateDirectory(manifest)
        services["nginx"] = ComposeService(
            image: manifest.nginx.image,
            containerName: nginxName(manifest),
            command: ["nginx", "-c", "\(nginxConfigDirectory)/nginx.conf", "-g", "daemon off;"],
            user: "\(nginxUser.uid):\(nginxUser.gid)",
            labels: OrderedMap([projectLabelKey: manifest.name, "\(labelPrefix).role": "nginx"]),
            volumes: ["\(state)/nginx/conf:\(nginxConfigDirectory):ro", "\(state)/nginx/logs:\(nginxLogDirectory)"],
            tmpfs: ["/tmp"],
            readOnly: true,
            networkMode: "host",
            dependsOn: OrderedMap([service.name: DependsOn(condition: "service_started")]),
            healthcheck: Healthcheck(test: ["CMD", "nginx", "-t", "-q", "-c", "\(nginxConfigDirectory)/nginx.conf"],
                                     interval: "10s", timeout: "3s", retries: 3, startPeriod: "5s")
        )
        if manifest.policy.engine == .opa {
            // The app must not reach what judges it: OPA sits on a network of its own, answers only
            // the token holder (the deploy tool, through the loopback port), and starts with no
            // policy but its authorization: the tool uploads and verifies its own before each decision.
            services["opa"] = ComposeService(
                image: opaImage,
                command: ["run", "--server", "--addr=0.0.0.0:8181", "--log-level=info", "--authentication=token", "--authorization=basic",
                          "/authz/\(opaAuthzFile)"],
                user: "65534:65534",
                environment: OrderedMap(["OPA_TOKEN": "${OPA_TOKEN:?set OPA_TOKEN to the token policy.opa_token holds}"]),
                labels: OrderedMap([projectLabelKey: manifest.name, "\(labelPrefix).role": "opa"]),
                ports: ["127.0.0.1:8181:8181"],
                volumes: ["./\(opaAuthzFile):/authz/\(opaAuthzFile):ro"],
                networks: [policyNetwork(manifest)],
                healthcheck: Healthcheck(test: ["CMD", "/opa", "eval", "--fail", "true"], interval: "10s", timeout: "3s", retries: 3, startPeriod: "5s")
            )
        }
        var networks = OrderedMap([network: Network(name: network, driver: manifest.network.driver)])
        if manifest.policy.engine == .opa { networks[policyNetwork(manifest)] = Network(name: policyNetwork(manifest), driver: "bridge") }
        return Document(services: services, networks: networks)
    }

    static var projectLabelKey: String { "\(labelPrefix).project" }

    /// The state directory as the compose file names it: relative to the manifest's folder when inside it.
    static func relativeStateDirectory(_ manifest: Manifest) -> String {
        let base = manifest.directory.hasSuffix("/") ? manifest.directory : manifest.directory + "/"
        return manifest.stateDirectory.hasPrefix(base) ? "./" + manifest.stateDirectory.dropFirst(base.count) : manifest.stateDirectory
    }

    /// The OPA sidecar's network, which no app joins.
    static func policyNetwork(_ manifest: Manifest) -> String { "\(manifest.name)-policy" }

    /// An app instance: its image's own user and health check (the demo image has both; Docker's
    /// health status is what the runtime waits for), read-only with no capability, and published on
    /// loopback at its own port, where nginx and the tool reach it as they reach a local process.
    static func app(_ manifest: Manifest, _ instance: Instance) -> ComposeService {
        var environment = OrderedMap<String>()
        environment["PORT"] = String(instance.port)
        environment["HOST"] = "0.0.0.0"
        environment["MODE"] = instance.mode
        environment["APP_VERSION"] = instance.version
        for key in instance.env.keys.sorted() { environment[key] = instance.env[key] }
        return ComposeService(
            image: instance.image,
            containerName: instanceName(manifest, port: instance.port),
            envFile: instance.envFile.map { [$0] },
            environment: environment,
            labels: OrderedMap([projectLabelKey: manifest.name, "\(labelPrefix).role": "app", "\(labelPrefix).track": instance.mode,
                                "\(labelPrefix).version": instance.version]),
            expose: [String(instance.port)],
            ports: ["127.0.0.1:\(instance.port):\(instance.port)"],
            tmpfs: ["/tmp"],
            readOnly: true,
            networks: [manifest.network.name]
        )
    }

    /// No top-level `name`: Compose v1 refuses it; the runtime names the project (`-p`).
    struct Document: Encodable {
        let services: OrderedMap<ComposeService>
        let networks: OrderedMap<Network>
    }

    /// One service; every container runs with no capabilities beyond what it needs and no privilege gain.
    struct ComposeService: Encodable {
        var image: String
        var containerName: String? = nil
        var command: [String]? = nil
        var user: String? = nil
        var envFile: [String]? = nil
        var environment: OrderedMap<String>? = nil
        var labels: OrderedMap<String>? = nil
        var expose: [String]? = nil
        var ports: [String]? = nil
        var volumes: [String]? = nil
        var tmpfs: [String]? = nil
        var readOnly: Bool? = nil
        var networks: [String]? = nil
        var networkMode: String? = nil
        var capDrop = ["ALL"]
        var capAdd: [String]? = nil
        var securityOpt = ["no-new-privileges:true"]
        var restart = "unless-stopped"
        var dependsOn: OrderedMap<DependsOn>? = nil
        var healthcheck: Healthcheck? = nil

        enum CodingKeys: String, CodingKey {
            case image
            case containerName = "container_name"
            case command, user
            case envFile = "env_file"
            case environment, labels, expose, ports, volumes, tmpfs
            case readOnly = "read_only"
            case networks
            case networkMode = "network_mode"
            case capDrop = "cap_drop"
            case capAdd = "cap_add"
            case securityOpt = "security_opt"
            case restart
            case dependsOn = "depends_on"
            case healthcheck
        }
    }

    struct Healthcheck: Encodable {
        let test: [String]
        let interval: String
        let timeout: String
        let retries: Int
        let startPeriod: String

        enum CodingKeys: String, CodingKey {
            case test, interval, timeout, retries
            case startPeriod = "start_period"
        }
    }

    struct DependsOn: Encodable {
        let condition: String
    }

    struct Network: Encodable {
        let name: String
        let driver: String
    }

}

extension ComposeFile.ComposeService {
    /// The same container as `docker run` arguments (detached), for the fields a service of ours
    /// uses, and the environment the docker CLI passes on (`--env NAME` takes NAME's value from it).
    func runCommand() -> (arguments: [String], environment: [String: String]) {
        var arguments = ["run", "--detach"]
        if let containerName { arguments += ["--name", containerName] }
        if let user { arguments += ["--user", user] }
        for file in envFile ?? [] { arguments += ["--env-file", file] }
        var values: [String: String] = [:]
        for key in environment?.keys ?? [] {
            arguments += ["--env", key]
            values[key] = environment![key]!
        }
        for key in labels?.keys ?? [] { arguments += ["--label", "\(key)=\(labels![key]!)"] }
        arguments += (expose ?? []).flatMap { ["--expose", $0] } + (ports ?? []).flatMap { ["--publish", $0] }
        arguments += (volumes ?? []).flatMap { ["--volume", $0] } + (tmpfs ?? []).flatMap { ["--tmpfs", $0] }
        if readOnly == true { arguments.append("--read-only") }
        if let network = networks?.first { arguments += ["--network", network] }
        if let networkMode { arguments += ["--network", networkMode] }
        arguments += capDrop.flatMap { ["--cap-drop", $0] } + (capAdd ?? []).flatMap { ["--cap-add", $0] }
        arguments += securityOpt.flatMap { ["--security-opt", $0] } + ["--restart", restart, image] + (command ?? [])
        return (arguments, values)
    }
}

/// A string-keyed map that encodes its entries in insertion order (Swift dictionaries do not
/// keep an order, and generated files must be byte-for-byte deterministic).
struct OrderedMap<Value: Encodable>: Encodable {
    private(set) var keys: [String] = []
    private var values: [String: Value] = [:]

    init() {}

    init(_ pairs: KeyValuePairs<String, Value>) {
        for (key, value) in pairs { self[key] = value }
    }

    subscript(key: String) -> Value? {
        get { values[key] }
        set {
            if values[key] == nil, newValue != nil { keys.append(key) }
            if newValue == nil { keys.removeAll { $0 == key } }
            values[key] = newValue
        }
    }

    struct Key: CodingKey {
        let stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        for key in keys { try container.encode(values[key], forKey: Key(stringValue: key)) }
    }
}
