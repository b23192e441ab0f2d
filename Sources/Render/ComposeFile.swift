import Manifest
import Yams
import Vocabulary

/// docker-compose.yml as a model, encoded with Yams (never string templates) so the output is
/// always valid YAML and its key order is fixed.
public enum ComposeFile {
    /// Where nginx logs inside its container: the official image owns /var/cache/nginx as its
    /// non-root user, so a named volume mounted there is writable without an init step.
    public static let nginxLogDirectory = "/var/cache/nginx"
    /// Where the guard container sees that same volume, read-only.
    public static let guardLogDirectory = "/var/log/swiftdeploy-nginx"
    public static let opaImage = "openpolicyagent/opa:1.4.2-static"
    /// OPA's own authorization policy for the sidecar, generated beside docker-compose.yml.
    public static let opaAuthzFile = "opa-authz.rego"
    public static let opaAuthz = String(decoding: PackageResources.authz_rego, as: UTF8.self)
    public static let guardImage = "swiftdeploy:latest"

    public static func render(_ manifest: Manifest, manifestHash: String) throws -> String {
        let header = GeneratedHeader.lines(comment: "#", manifestHash: manifestHash, manifestName: manifest.name)
        let encoder = YAMLEncoder()
        encoder.options = .init(indent: 2, width: -1, sortKeys: false)
        return header + (try encoder.encode(model(manifest)))
    }

    static func model(_ manifest: Manifest) -> Document {
        let service = manifest.service
        let network = manifest.network.name
        var services = OrderedMap<ComposeService>()
        services[service.name] = app(manifest, image: service.image ?? "", port: service.port, version: service.version,
                                     mode: "stable", env: service.env)
        if let canary = service.canary {
            services["\(service.name)-canary"] = app(manifest, image: canary.image ?? service.image ?? "", port: canary.port,
                                                     version: canary.version, mode: "canary", env: service.env.merging(canary.env) { $1 })
        }
        var dependsOn = OrderedMap<DependsOn>()
        dependsOn[service.name] = DependsOn(condition: "service_healthy")
        services["nginx"] = ComposeService(
            image: manifest.nginx.image,
            command: ["nginx", "-g", "daemon off;"],
            user: "101:101",
            ports: ["\(manifest.nginx.listen):\(manifest.nginx.port):\(manifest.nginx.port)"],
            volumes: ["./nginx.conf:/etc/nginx/nginx.conf:ro", "nginx-logs:\(nginxLogDirectory)"],
            tmpfs: ["/tmp"],
            networks: [network],
            dependsOn: dependsOn,
            healthcheck: Healthcheck(test: ["CMD", "nginx", "-t", "-q"], interval: "10s", timeout: "3s", retries: 3, startPeriod: "5s")
        )
        // The guard edits the host firewall, so it shares the host's network namespace and needs
        // NET_ADMIN as root; it keeps no other capability.
        services["guard"] = ComposeService(
            image: guardImage,
            command: ["swiftdeploy", "guard", "run", "-f", "/etc/swiftdeploy/swiftdeploy.yaml",
                      "--log", "\(guardLogDirectory)/access.log", "--state-dir", "/var/lib/swiftdeploy"],
            user: "0:0",
            environment: OrderedMap(["SLACK_WEBHOOK_URL": "${SLACK_WEBHOOK_URL:-}"]),
            volumes: ["nginx-logs:\(guardLogDirectory):ro", "./swiftdeploy.yaml:/etc/swiftdeploy/swiftdeploy.yaml:ro",
                      "guard-state:/var/lib/swiftdeploy"],
            networkMode: "host",
            capAdd: ["NET_ADMIN"],
            dependsOn: OrderedMap(["nginx": DependsOn(condition: "service_started")]),
            healthcheck: Healthcheck(test: ["CMD", "swiftdeploy", "guard", "bans", "list", "-f", "/etc/swiftdeploy/swiftdeploy.yaml"],
                                     interval: "30s", timeout: "5s", retries: 3, startPeriod: "10s")
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
                ports: ["127.0.0.1:8181:8181"],
                volumes: ["./\(opaAuthzFile):/authz/\(opaAuthzFile):ro"],
                networks: [policyNetwork(manifest)],
                healthcheck: Healthcheck(test: ["CMD", "/opa", "eval", "--fail", "true"], interval: "10s", timeout: "3s", retries: 3, startPeriod: "5s")
            )
        }
        var networks = OrderedMap([network: Network(name: network, driver: manifest.network.driver)])
        if manifest.policy.engine == .opa { networks[policyNetwork(manifest)] = Network(name: policyNetwork(manifest), driver: "bridge") }
        return Document(
            name: manifest.name,
            services: services,
            networks: networks,
            volumes: OrderedMap(["nginx-logs": Volume(), "guard-state": Volume()])
        )
    }

    /// The OPA sidecar's network, which no app joins.
    static func policyNetwork(_ manifest: Manifest) -> String { "\(manifest.name)-policy" }

    static func app(_ manifest: Manifest, image: String, port: Int, version: String, mode: String, env: [String: String]) -> ComposeService {
        var environment = OrderedMap<String>()
        environment["PORT"] = String(port)
        environment["HOST"] = "0.0.0.0"
        environment["MODE"] = mode
        environment["APP_VERSION"] = version
        for key in env.keys.sorted() { environment[key] = env[key] }
        let health = manifest.service.healthcheck
        return ComposeService(
            image: image,
            user: "65534:65534",
            environment: environment,
            expose: [String(port)],
            readOnly: true,
            networks: [manifest.network.name],
            healthcheck: Healthcheck(
                test: ["CMD-SHELL", "curl -fsS http://127.0.0.1:\(port)\(health.path) || exit 1"],
                interval: "5s", timeout: "3s", retries: 3, startPeriod: health.timeout.manifestText
            )
        )
    }

    struct Document: Encodable {
        let name: String
        let services: OrderedMap<ComposeService>
        let networks: OrderedMap<Network>
        let volumes: OrderedMap<Volume>
    }

    /// One service; every container runs with no capabilities beyond what it needs and no privilege gain.
    struct ComposeService: Encodable {
        var image: String
        var command: [String]? = nil
        var user: String
        var environment: OrderedMap<String>? = nil
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
        var healthcheck: Healthcheck

        enum CodingKeys: String, CodingKey {
            case image, command, user, environment, expose, ports, volumes, tmpfs
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

    struct Volume: Encodable {}
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
