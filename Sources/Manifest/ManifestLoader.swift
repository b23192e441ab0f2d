import EdgeRules
import Foundation
import Yams
import Vocabulary

/// Reads `swiftdeploy.yaml` into a `Manifest`, filling defaults and reporting every problem
/// with file, line, column and field.
public enum ManifestLoader {
    public static let defaultFileName = "swiftdeploy.yaml"

    public static func load(
        file: String, environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(ManifestError) -> Manifest {
        let absolute = absolutePath(file, relativeTo: FileManager.default.currentDirectoryPath)
        guard let data = FileManager.default.contents(atPath: absolute) else {
            let reason = FileManager.default.fileExists(atPath: absolute)
                ? "cannot read the manifest (check its permissions)"
                : "no manifest here; create one with `swiftdeploy init --example` or pass -f PATH"
            throw ManifestError(problems: [ManifestProblem(file: file, line: 1, column: 1, field: "", message: reason, kind: .syntax)])
        }
        guard let yaml = String(data: data, encoding: .utf8) else {
            throw ManifestError(problems: [ManifestProblem(file: file, line: 1, column: 1, field: "", message: "the manifest is not UTF-8 text", kind: .syntax)])
        }
        return try parse(yaml: yaml, file: file, directory: (absolute as NSString).deletingLastPathComponent, environment: environment)
    }

    /// Parses manifest text. `file` is how problems name it; `directory` anchors relative paths.
    public static func parse(
        yaml: String, file: String, directory: String, environment: [String: String] = [:]
    ) throws(ManifestError) -> Manifest {
        let root: Node?
        do {
            root = try Yams.compose(yaml: yaml)
        } catch let error as YamlError {
            throw ManifestError(problems: syntaxProblems(error, file: file, yaml: yaml))
        } catch {
            throw ManifestError(problems: [ManifestProblem(file: file, line: 1, column: 1, field: "", message: "\(error)", kind: .syntax)])
        }
        let reader = FieldReader(file: file, environment: environment)
        let manifest = build(root: root, reader: reader, file: file, directory: directory)
        if !reader.problems.isEmpty { throw ManifestError(problems: reader.problems) }
        return manifest
    }

    /// A name that can go into nginx.conf, a file path or a docker argument as it is.
    static func isPlainName(_ text: String) -> Bool {
        guard let first = text.utf8.first, text.utf8.count <= 63 else { return false }
        func plain(_ byte: UInt8) -> Bool { (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte) }
        return plain(first) && text.utf8.allSatisfy { plain($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") }
    }

    static let topKeys = ["name", "state_dir", "runtime", "services", "nginx", "network", "policy", "guard", "dashboard", "hooks"]

    private static func build(root: Node?, reader: FieldReader, file: String, directory: String) -> Manifest {
        if root == nil { reader.fail(nil, "", "the manifest is empty; it needs at least `name` and `services`", kind: .missingField) }
        let top = reader.section(root, path: "", keys: topKeys)
        let name = top.required("name", "a short name for this deployment, e.g. demo", fallback: "app") { top.string("name") }
        if !Self.isPlainName(name) {
            reader.fail(top.node("name")?.mark, "name", "use letters, digits, - and _ only (it names files and containers), got \"\(name)\"")
        }
        let stateDirectory = absolutePath(top.string("state_dir", default: ".swiftdeploy"), relativeTo: directory)
        let runtime: RuntimeKind = top.choice("runtime", default: .local)
        let service = buildService(top, runtime: runtime, directory: directory)
        let nginxSection = top.section("nginx", keys: ["port", "listen", "proxy_timeout", "contact", "binary", "sticky", "image", "tls"])
        let nginx = buildNginx(nginxSection, directory: directory)
        if service.port == nginx.port || service.canary?.port == nginx.port {
            reader.fail(nginxSection.node("port")?.mark ?? top.mark, "nginx.port",
                        "nginx and the service cannot both use port \(nginx.port)")
        }
        if let tls = nginx.tls, [nginx.port, service.port, service.canary?.port].contains(tls.port) {
            reader.fail(nginxSection.section("tls", keys: []).node("port")?.mark ?? top.mark, "nginx.tls.port",
                        "HTTPS needs a port of its own; \(tls.port) is already nginx.port or a service's port")
        }
        if let canary = service.canary, canary.port == service.port {
            reader.fail(top.mark, "services.\(service.name).canary.port", "the canary needs its own port; \(canary.port) is the stable one")
        }
        let networkSection = top.section("network", keys: ["name", "driver"])
        let network = NetworkSettings(name: networkSection.string("name", default: "\(name)-net"),
                                      driver: networkSection.string("driver", default: "bridge"))
        let policy = buildPolicy(top.section("policy", keys: ["engine", "opa_url", "opa_token", "timeout", "dir", "infrastructure", "canary_safety"]),
                                 directory: directory)
        let guardSettings = buildGuard(top.section("guard", keys: guardKeys), stateDirectory: stateDirectory, directory: directory)
        let dashboardSection = top.section("dashboard", keys: ["listen", "token"])
        let listen = dashboardSection.value("listen", expected: "HOST:PORT such as 127.0.0.1:9090") { text -> String? in
            guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (1...65535).contains(port) else { return nil }
            return text
        } ?? "127.0.0.1:9090"
        let token = dashboardSection.string("token").flatMap { $0.isEmpty ? nil : $0 }
        if let token, token.count < 16 {
            dashboardSection.reader.fail(dashboardSection.node("token")?.mark, "dashboard.token",
                                         "a token of \(token.count) characters is guessable; use at least 16 (e.g. openssl rand -hex 24)")
        }
        if token == nil, !DashboardSettings(listen: listen, token: nil).bindsLoopback {
            dashboardSection.reader.fail(dashboardSection.node("listen")?.mark, "dashboard.listen",
                                         "\(listen) is reachable beyond this host, so dashboard.token is required (e.g. token: ${DASHBOARD_TOKEN})")
        }
        return Manifest(
            name: name, stateDirectory: stateDirectory, runtime: runtime, service: service, nginx: nginx,
            network: network, policy: policy, guardSettings: guardSettings,
            dashboard: DashboardSettings(listen: listen, token: token),
            hooks: buildHooks(top.section("hooks", keys: HookEvent.allCases.map(\.rawValue))),
            file: absolutePath(file, relativeTo: FileManager.default.currentDirectoryPath), directory: directory
        )
    }

    /// `hooks`: each event a command string, or `{run: "…", timeout: 30s}`.
    private static func buildHooks(_ section: Section) -> [HookEvent: Hook] {
        var hooks: [HookEvent: Hook] = [:]
        for event in HookEvent.allCases {
            guard let node = section.node(event.rawValue) else { continue }
            if node.scalar != nil {
                if let run = section.string(event.rawValue) { hooks[event] = Hook(run: run, shown: section.written(event.rawValue)) }
                continue
            }
            let hook = section.section(event.rawValue, keys: ["run", "timeout"])
            let run = hook.required("run", "the command to run, e.g. run: scripts/smoke-test.sh", fallback: "") { hook.string("run") }
            hooks[event] = Hook(run: run, shown: hook.written("run"), timeout: hook.duration("timeout", default: .seconds(60)))
        }
        return hooks
    }

    static let serviceKeys = ["image", "command", "port", "version", "env", "env_file", "healthcheck", "canary"]

    /// `env_file`, made absolute, and refused unless only its owner may read it.
    private static func envFile(_ section: Section, directory: String) -> String? {
        guard let text = section.string("env_file") else { return nil }
        let path = absolutePath(text, relativeTo: directory)
        if let problem = EnvFile.problem(at: path) { section.reader.fail(section.node("env_file")?.mark, section.field("env_file"), problem) }
        return path
    }

    private static func buildService(_ top: Section, runtime: RuntimeKind, directory: String) -> Service {
        let services = top.section("services", keys: [])
        guard let serviceName = services.order.first else {
            top.missing("services", "one service, e.g. services: { app: { command: [...], port: 3000 } }")
            return Service(name: "app", image: nil, command: nil, port: 3000, version: "0.0.0", env: [:],
                           healthcheck: Healthcheck(path: "/healthz", timeout: .seconds(60), interval: .milliseconds(500)), canary: nil)
        }
        if services.order.count > 1 {
            top.reader.fail(services.node(services.order[1])?.mark, services.field(services.order[1]),
                            "only one service per manifest is supported; nginx fronts \(serviceName)")
        }
        if !Self.isPlainName(serviceName) {
            top.reader.fail(services.node(serviceName)?.mark, services.field(serviceName),
                            "a service name is ASCII letters, digits, - and _ (1-63, starting with a letter or digit): it goes into nginx.conf, file paths and docker arguments")
        }
        let section = services.section(serviceName, keys: serviceKeys)
        let image = section.string("image")
        let command = section.list("command", expected: "command words") { $0 }
        requireRunnable(section, runtime: runtime, image: image, command: command)
        let port = section.required("port", "the port the service listens on", fallback: 3000) { section.int("port", in: 1...65535) }
        let version = section.string("version", default: "0.0.0")
        let health = section.section("healthcheck", keys: ["path", "timeout", "interval"])
        let healthPath = health.string("path", default: "/healthz")
        // The path goes into nginx.conf and a compose healthcheck command: URL characters only.
        let urlCharacters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~/?=&%+"
        if !healthPath.hasPrefix("/") || !healthPath.allSatisfy(urlCharacters.contains) || healthPath.count > 256 {
            top.reader.fail(health.node("path")?.mark, health.field("path"),
                            "must be a URL path starting with / (letters, digits and - . _ ~ / ? = & % + only), got \"\(healthPath)\"")
        }
        var canary: Canary?
        if section.has("canary") {
            let canarySection = section.section("canary", keys: ["image", "command", "version", "weight", "port", "env", "env_file", "match"])
            let canaryImage = canarySection.string("image") ?? image
            let canaryCommand = canarySection.list("command", expected: "command words") { $0 } ?? command
            let canaryVersion = canarySection.required("version", "the canary's version, e.g. 1.1.0", fallback: "0.0.0") { canarySection.string("version") }
            canary = Canary(
                image: canaryImage, command: canaryCommand, version: canaryVersion,
                weight: canarySection.int("weight", in: 0...100, default: 10),
                port: canarySection.int("port", in: 1...65535, default: port == 65535 ? port - 1 : port + 1),
                env: canarySection.stringMap("env"),
                envFile: envFile(canarySection, directory: directory) ?? envFile(section, directory: directory),
                match: canarySection.has("match") ? buildMatch(canarySection.section("match", keys: ["headers", "cookies"])) : nil
            )
        }
        return Service(
            name: serviceName, image: image, command: command, port: port, version: version, env: section.stringMap("env"),
            envFile: envFile(section, directory: directory),
            healthcheck: Healthcheck(path: healthPath, timeout: health.duration("timeout", default: .seconds(60)),
                                     interval: health.duration("interval", default: .milliseconds(500))),
            canary: canary
        )
    }

    private static func requireRunnable(_ section: Section, runtime: RuntimeKind, image: String?, command: [String]?) {
        switch runtime {
        case .local where command?.isEmpty ?? true:
            section.missing("command", "runtime local starts the service as a process: command: [program, args…]; {port} is replaced by its port")
        case .compose where image?.isEmpty ?? true:
            section.missing("image", "runtime compose runs the service from a container image")
        default: break
        }
    }

    private static func buildNginx(_ section: Section, directory: String) -> NginxSettings {
        var settings = NginxSettings(
            port: section.int("port", in: 1...65535, default: 8080),
            listen: section.value("listen", expected: "an IP address to bind, such as 127.0.0.1 or 0.0.0.0") { IPAddress($0) != nil ? $0 : nil } ?? "127.0.0.1",
            proxyTimeout: section.duration("proxy_timeout", default: .seconds(15)),
            contact: section.value("contact", expected: "an email address or URL without quotes, $ or backslashes") { text in
                text.contains(where: { "\"'$\\\n;{}".contains($0) }) ? nil : text
            } ?? "",
            binary: section.string("binary", default: "nginx"),
            sticky: section.bool("sticky", default: false),
            image: section.string("image", default: "nginx:1.27-alpine")
        )
        if section.node("tls") != nil {
            let tls = section.section("tls", keys: ["certificate", "key", "port", "redirect", "hsts"])
            let certificate = tls.required("certificate", "the PEM certificate chain, e.g. /etc/letsencrypt/live/example.com/fullchain.pem (or make one: swiftdeploy tls self-signed)", fallback: "") { tls.string("certificate") }
            let key = tls.required("key", "the PEM private key, e.g. /etc/letsencrypt/live/example.com/privkey.pem", fallback: "") { tls.string("key") }
            settings.tls = EdgeTLSSettings(
                certificate: absolutePath(certificate, relativeTo: directory), key: absolutePath(key, relativeTo: directory),
                port: tls.int("port", in: 1...65535, default: 443), redirect: tls.bool("redirect", default: true),
                hsts: tls.duration("hsts", default: .seconds(31_536_000)))
        }
        return settings
    }

    private static func buildPolicy(_ section: Section, directory: String) -> PolicySettings {
        let infrastructure = section.section("infrastructure", keys: ["max_cpu_load", "min_disk_free_gb", "max_mem_used_pct"])
        let canary = section.section("canary_safety", keys: ["max_error_rate", "max_p99_latency_ms", "min_requests", "window", "deadline",
                                                             "interval", "iterations", "threshold", "metrics"])
        let opaURL = section.value("opa_url", expected: "an http:// or https:// URL such as http://127.0.0.1:8181") { text -> String? in
            guard let url = URL(string: text), ["http", "https"].contains(url.scheme ?? ""), url.host != nil else { return nil }
            return text.hasSuffix("/") ? String(text.dropLast()) : text
        } ?? "http://127.0.0.1:8181"
        // Named, the folder must be there: a mistyped path must not mean the shipped policies decide.
        let policyDirectory = absolutePath(section.string("dir", default: "policies"), relativeTo: directory)
        if section.node("dir") != nil, !FileManager.default.fileExists(atPath: policyDirectory) {
            section.reader.fail(section.node("dir")?.mark, section.field("dir"),
                                "\(policyDirectory) does not exist; create it with your .rego files (`swiftdeploy init` writes the shipped ones there), or remove policy.dir to use the shipped policies")
        }
        return PolicySettings(
            engine: section.choice("engine", default: .embedded),
            opaURL: opaURL,
            opaToken: section.string("opa_token").flatMap { $0.isEmpty ? nil : $0 },
            timeout: section.duration("timeout", default: .seconds(2)),
            directory: policyDirectory,
            infrastructure: InfrastructureLimits(
                maxCPULoad: infrastructure.double("max_cpu_load", in: 0...1024, default: 2.0),
                minDiskFreeGB: infrastructure.double("min_disk_free_gb", in: 0...1_000_000, default: 10),
                maxMemUsedPct: infrastructure.percent("max_mem_used_pct", default: 90)
            ),
            canarySafety: CanarySafetyLimits(
                maxErrorRate: canary.fraction("max_error_rate", default: 0.05),
                maxP99LatencyMS: canary.double("max_p99_latency_ms", in: 0...3_600_000, default: 500),
                minRequests: canary.int("min_requests", in: 0...1_000_000_000, default: 20),
                window: canary.duration("window", default: .seconds(30)),
                deadline: canary.duration("deadline", default: .seconds(600)),
                interval: canary.duration("interval", default: .seconds(30)),
                iterations: canary.int("iterations", in: 1...1000, default: 1),
                threshold: canary.int("threshold", in: 1...1000, default: 1),
                metrics: buildMetrics(canary.section("metrics", keys: []))
            )
        )
    }

    /// `canary.match`: request headers and cookies that send a request to the canary whatever its weight.
    private static func buildMatch(_ section: Section) -> CanaryMatch {
        // Names become nginx variables ($http_x_canary, $cookie_canary) and values quoted strings in nginx.conf.
        func pairs(_ key: String, names: String, _ nameIsValid: (Character) -> Bool) -> [String: String] {
            let map = section.stringMap(key)
            let inner = section.section(key, keys: [])
            for (name, value) in map.sorted(by: { $0.key < $1.key }) {
                if name.isEmpty || !name.allSatisfy(nameIsValid) {
                    section.reader.fail(inner.mark, inner.field(name), "\(names) are ASCII letters, digits\(key == "headers" ? " and -" : ", - and _")")
                }
                if value.isEmpty || value.contains(where: { "\"'$\\;{}\n\r ".contains($0) || !$0.isASCII }) {
                    section.reader.fail(inner.node(name)?.mark, inner.field(name), "a value to match is printable ASCII without spaces, quotes, $, ;, braces or backslashes")
                }
            }
            return map
        }
        let match = CanaryMatch(
            headers: pairs("headers", names: "header names") { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") },
            cookies: pairs("cookies", names: "cookie names") { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") })
        if match.headers.isEmpty && match.cookies.isEmpty {
            section.reader.fail(section.mark, section.path, "give headers or cookies that send a request to the canary, e.g. headers: { X-Canary: always }")
        }
        return match
    }

    /// `canary_safety.metrics`: each name a measurement of the canary (see `CanaryMetric`).
    private static func buildMetrics(_ section: Section) -> [CanaryMetric] {
        section.order.compactMap { name -> CanaryMetric? in
            let metric = section.section(name, keys: ["source", "kind", "metric", "match", "of", "quantile", "scale", "min", "max"])
            if !isPlainName(name) {
                section.reader.fail(section.node(name)?.mark, metric.path, "a metric's name is letters, digits, - and _: it becomes input.metrics.\(name) in Rego")
            }
            let source: CanaryMetric.Source = metric.choice("source", default: .log)
            let kind = metric.required("kind", "one of \(CanaryMetric.Kind.allCases.map(\.rawValue).joined(separator: ", "))", fallback: CanaryMetric.Kind.count) {
                metric.has("kind") ? metric.choice("kind", default: .count) : nil
            }
            let match = metric.stringMap("match"), of = metric.stringMap("of")
            let measured = CanaryMetric(
                name: name, source: source, kind: kind, metric: metric.string("metric"), match: match, of: of,
                quantile: metric.double("quantile", in: 0.000001...0.999999, default: 0.99), scale: metric.double("scale", in: 0.000001...1e12, default: 1),
                min: metric.has("min") ? metric.double("min", in: -1e15...1e15, default: 0) : nil,
                max: metric.has("max") ? metric.double("max", in: -1e15...1e15, default: 0) : nil)
            switch source {
            case .log:
                if metric.has("metric") { metric.reader.fail(metric.node("metric")?.mark, metric.field("metric"), "a log metric reads nginx's log; `metric` names a Prometheus series (source: prometheus)") }
                if kind == .value { metric.reader.fail(metric.node("kind")?.mark, metric.field("kind"), "kind value reads a gauge: it needs source: prometheus") }
                for field in Set(match.keys).union(of.keys).sorted() where !CanaryMetric.logFields.contains(field) {
                    metric.reader.fail(metric.mark, metric.field(match[field] != nil ? "match" : "of"), "a log metric matches on \(CanaryMetric.logFields.joined(separator: ", ")), not \(field)")
                }
            case .prometheus:
                if !metric.has("metric") { metric.missing("metric", "the Prometheus metric's name, e.g. http_requests_total (a histogram's without _bucket)") }
            }
            if kind == .ratio && of.isEmpty { metric.missing("of", "which of the matching requests count, e.g. of: { status: 5xx }") }
            return measured
        }
    }

    private static func syntaxProblems(_ error: YamlError, file: String, yaml: String) -> [ManifestProblem] {
        guard case .duplicatedKeysInMapping(let keys, _) = error else { return [syntaxProblem(error, file: file)] }
        // Yams names the keys but not where the repeat is: point at the key's second occurrence.
        let lines = yaml.split(separator: "\n", omittingEmptySubsequences: false)
        return keys.sorted().map { key in
            let occurrences = lines.indices.filter { index in
                let trimmed = lines[index].drop { $0 == " " || $0 == "-" }
                return trimmed.hasPrefix("\(key):") || trimmed.hasPrefix("\"\(key)\":")
            }
            let line = occurrences.dropFirst().first ?? occurrences.first ?? 0
            let column = lines.isEmpty ? 1 : lines[line].prefix { $0 == " " || $0 == "-" }.count + 1
            return ManifestProblem(file: file, line: line + 1, column: column, field: key,
                                   message: "duplicate key (each key may appear once in a mapping)", kind: .syntax)
        }
    }

    private static func syntaxProblem(_ error: YamlError, file: String) -> ManifestProblem {
        switch error {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
             .composer(let context, let problem, let mark, _):
            let detail = context.map { "\(problem) \($0.text)" } ?? problem
            return ManifestProblem(file: file, line: mark.line, column: mark.column, field: "", message: "YAML syntax: \(detail)", kind: .syntax)
        default:
            return ManifestProblem(file: file, line: 1, column: 1, field: "", message: "YAML: \(error)", kind: .syntax)
        }
    }

    /// `path` made absolute against `base` (a leading `~/` is the home directory), with `.` and `..`
    /// resolved as text. Links are left as written (Foundation's `standardizingPath` follows them): a
    /// `guard.log` that is a link must still look like one to the checks that refuse links.
    public static func absolutePath(_ path: String, relativeTo base: String) -> String {
        let expanded = (path as NSString).expandingTildeInPath
        let joined = expanded.hasPrefix("/") ? expanded : (base as NSString).appendingPathComponent(expanded)
        var parts: [Substring] = []
        for part in joined.split(separator: "/") where part != "." {
            if part == ".." { _ = parts.popLast() } else { parts.append(part) }
        }
        return "/" + parts.joined(separator: "/")
    }
}
