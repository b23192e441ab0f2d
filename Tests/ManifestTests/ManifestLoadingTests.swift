import EdgeRules
import Foundation
import Telemetry
import Testing

@testable import Manifest
import Vocabulary

private func load(_ yaml: String, environment: [String: String] = [:]) throws(ManifestError) -> Manifest {
    try ManifestLoader.parse(yaml: yaml, file: "swiftdeploy.yaml", directory: "/srv/site", environment: environment)
}

private func problems(_ yaml: String, environment: [String: String] = [:]) -> [String] {
    do {
        _ = try load(yaml, environment: environment)
        return []
    } catch {
        return error.problems.map(\.description)
    }
}

private let minimal = """
    name: shop
    services:
      web:
        command: [shop-server, --port, "{port}"]
        port: 4000
    """

@Suite struct ManifestDefaults {
    /// Paths are made absolute as text: a link stays a link, so the guard's no-follow check sees a
    /// linked `guard.log` (Foundation's `standardizingPath` used to resolve it at load).
    @Test func pathsAreMadeAbsoluteWithoutFollowingLinks() throws {
        let folder = NSTemporaryDirectory() + "swiftdeploy-paths-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: "\(folder)/real", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        FileManager.default.createFile(atPath: "\(folder)/real/access.log", contents: nil)
        try FileManager.default.createSymbolicLink(atPath: "\(folder)/access.log", withDestinationPath: "\(folder)/real/access.log")
        let manifest = try ManifestLoader.parse(yaml: "name: shop\nservices:\n  web: { command: [x], port: 4000 }\nguard: { log: ./real/../access.log }\n",
                                                file: "swiftdeploy.yaml", directory: folder)
        #expect(manifest.guardSettings.log == "\(folder)/access.log")
        #expect(ManifestLoader.absolutePath("../../etc/./x", relativeTo: "/srv") == "/etc/x")
        #expect(ManifestLoader.absolutePath("/", relativeTo: "/srv") == "/")
    }

    /// A secret substituted into a hook runs in the shell and is shown nowhere: what is printed,
    /// kept in history and sent to webhooks is the command as written.
    @Test func aHookIsShownAsWrittenWithItsSecretsUnsubstituted() throws {
        let manifest = try load("name: shop\nservices:\n  web: { command: [x], port: 4000 }\nhooks:\n  pre_deploy: \"curl -H 'X-Key: ${API_KEY}' https://ci.example\"\n  post_deploy: { run: \"notify ${API_KEY}\", timeout: 5s }\n",
                                environment: ["API_KEY": "s3cret-value"])
        #expect(manifest.hooks[.preDeploy]?.run == "curl -H 'X-Key: s3cret-value' https://ci.example")
        #expect(manifest.hooks[.preDeploy]?.shown == "curl -H 'X-Key: ${API_KEY}' https://ci.example")
        #expect(manifest.hooks[.postDeploy]?.shown == "notify ${API_KEY}" && manifest.hooks[.postDeploy]?.run == "notify s3cret-value")
    }

    @Test func minimalManifestGetsEveryDefault() throws {
        let manifest = try load(minimal)
        #expect(manifest.name == "shop")
        #expect(manifest.stateDirectory == "/srv/site/.swiftdeploy")
        #expect(manifest.runtime == .local)
        #expect(manifest.service.name == "web")
        #expect(manifest.service.port == 4000)
        #expect(manifest.service.command == ["shop-server", "--port", "{port}"])
        #expect(manifest.service.healthcheck == Healthcheck(path: "/healthz", timeout: .seconds(60), interval: .milliseconds(500)))
        #expect(manifest.service.canary == nil)
        #expect(manifest.nginx.port == 8080)
        #expect(manifest.nginx.listen == "127.0.0.1")
        #expect(manifest.nginx.proxyTimeout == .seconds(15))
        #expect(manifest.nginx.tls == nil)
        #expect(manifest.policy.canarySafety.interval == .seconds(30) && manifest.policy.canarySafety.iterations == 1)
        #expect(manifest.policy.canarySafety.threshold == 1 && manifest.policy.canarySafety.metrics.isEmpty)
        let analysis = try load(minimal + """

            policy:
              canary_safety:
                interval: 10s
                iterations: 3
                threshold: 2
                metrics:
                  checkout_errors: { kind: ratio, match: { path: /checkout*, method: POST }, of: { status: 5xx }, max: 0.02 }
                  db_p95_ms: { source: prometheus, kind: quantile, metric: db_query_seconds, quantile: 0.95, scale: 1000, max: 50 }
            """).policy.canarySafety
        #expect(analysis.interval == .seconds(10) && analysis.iterations == 3 && analysis.threshold == 2)
        #expect(analysis.metrics == [
            CanaryMetric(name: "checkout_errors", kind: .ratio, match: ["path": "/checkout*", "method": "POST"], of: ["status": "5xx"], max: 0.02),
            CanaryMetric(name: "db_p95_ms", source: .prometheus, kind: .quantile, metric: "db_query_seconds", quantile: 0.95, scale: 1000, max: 50),
        ])
        let tls = try load(minimal + "\nnginx:\n  tls: { certificate: tls/fullchain.pem, key: /etc/ssl/private/site.key }").nginx.tls
        #expect(tls == EdgeTLSSettings(certificate: "/srv/site/tls/fullchain.pem", key: "/etc/ssl/private/site.key", port: 443, redirect: true,
                                       hsts: .seconds(31_536_000)))
        #expect(manifest.network == NetworkSettings(name: "shop-net", driver: "bridge"))
        #expect(manifest.policy.engine == .embedded)
        #expect(manifest.policy.directory == "/srv/site/policies")
        #expect(manifest.policy.infrastructure == InfrastructureLimits(maxCPULoad: 2, minDiskFreeGB: 10, maxMemUsedPct: 90))
        #expect(manifest.policy.canarySafety == CanarySafetyLimits(maxErrorRate: 0.05, maxP99LatencyMS: 500, minRequests: 20, window: .seconds(30)))
        let guardSettings = manifest.guardSettings
        #expect(guardSettings.log == "/srv/site/.swiftdeploy/nginx/logs/access.log")
        #expect(guardSettings.window == .seconds(60))
        #expect(guardSettings.baseline == BaselineSettings(window: .seconds(1800), recalc: .seconds(60), minPoints: 10, meanFloor: 0.1,
                                                               clientFloor: 0.5, clientQuantile: 0.99))
        #expect(guardSettings.rules == DetectionRules())
        #expect(guardSettings.cohorts == CohortSettings(), "cohorts are on by default")
        #expect(guardSettings.asnTable == nil)
        #expect(guardSettings.requests == RequestClassifier())
        #expect(guardSettings.thresholds == Thresholds(zScore: 3, multiplier: 5, errorSurge: 3, surgeTightening: 0.5))
        #expect(guardSettings.bans == [.lasting(.seconds(600)), .lasting(.seconds(1800)), .lasting(.seconds(7200)), .permanent])
        #expect(guardSettings.enforcer == .nftables)
        #expect(guardSettings.allow.map(\.description) == ["127.0.0.0/8", "::1/128"])
        #expect(guardSettings.ipv6Prefix == 64)
        #expect(guardSettings.slackWebhook == nil)
        #expect(manifest.dashboard == DashboardSettings(listen: "127.0.0.1:9090", token: nil))
    }

    @Test func canaryInheritsCommandAndTakesNextPort() throws {
        let manifest = try load(minimal + "\n    canary: { version: 2.0.0 }")
        let canary = try #require(manifest.service.canary)
        #expect(canary.command == ["shop-server", "--port", "{port}"])
        #expect(canary.port == 4001)
        #expect(canary.weight == 10)
        #expect(canary.version == "2.0.0")
    }

    @Test func valuesInEveryAcceptedSpelling() throws {
        let manifest = try load(minimal + """

            nginx: { proxy_timeout: 1h30m, sticky: yes }
            policy:
              canary_safety: { max_error_rate: 2.5%, window: 500ms }
              infrastructure: { max_mem_used_pct: 80% }
            guard:
              bans: [90s, 1d, permanent]
              trusted_proxies: [10.0.0.0/8, "2001:db8::/32"]
            """)
        #expect(manifest.nginx.proxyTimeout == .seconds(5400))
        #expect(manifest.nginx.sticky)
        #expect(manifest.policy.canarySafety.maxErrorRate == 0.025)
        #expect(manifest.policy.canarySafety.window == .milliseconds(500))
        #expect(manifest.policy.infrastructure.maxMemUsedPct == 80)
        #expect(manifest.guardSettings.bans == [.lasting(.seconds(90)), .lasting(.seconds(86400)), .permanent])
        #expect(manifest.guardSettings.trustedProxies.map(\.description) == ["10.0.0.0/8", "2001:db8::/32"])
    }

    @Test func environmentInterpolation() throws {
        let yaml = minimal + """

            nginx: { port: "${NGINX_PORT:-9000}", contact: "${CONTACT}" }
            guard: { slack_webhook: "${SLACK_WEBHOOK_URL:-}", webhook: "https://hooks.example.com/$$x" }
            """
        let manifest = try load(yaml, environment: ["CONTACT": "ops@shop.example", "SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/T/B/X"])
        #expect(manifest.nginx.port == 9000)
        #expect(manifest.nginx.contact == "ops@shop.example")
        #expect(manifest.guardSettings.slackWebhook == "https://hooks.slack.com/services/T/B/X")
        #expect(manifest.guardSettings.webhook == "https://hooks.example.com/$x")
        let empty = try load(yaml, environment: ["CONTACT": "x@y.z", "NGINX_PORT": "9100"])
        #expect(empty.guardSettings.slackWebhook == nil)
        #expect(empty.nginx.port == 9100)
    }

    @Test func exampleManifestIsTheProjectsOwn() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let onDisk = try String(contentsOf: root.appendingPathComponent("swiftdeploy.yaml"), encoding: .utf8)
        #expect(onDisk == ExampleManifest.text)
        let manifest = try load(ExampleManifest.text)
        #expect(manifest.service.canary?.weight == 10)
        #expect(manifest.policy.canarySafety.maxErrorRate == 0.05)
    }

    @Test(arguments: [("500ms", 0.5), ("30s", 30), ("10m", 600), ("2h", 7200), ("1h30m", 5400), ("1.5s", 1.5)])
    func durations(text: String, seconds: Double) {
        #expect(DurationText.parse(text)?.seconds == seconds)
        #expect(DurationText.parse(DurationText.parse(text)!.manifestText) == DurationText.parse(text))
    }

    /// The last includes what the manifest fuzzer found: a number too large for a Duration trapped.
    @Test(arguments: ["", "10", "5 minutes", "10x", "m", "-5s", "1e3s", "101y", "36500d1s",
                      "69999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999990s",
                      String(repeating: "9", count: 400) + "ms"])
    func badDurations(text: String) {
        #expect(DurationText.parse(text) == nil)
    }

    /// The fuzzer's crash as a whole manifest: a clear error on the field, not a trap.
    @Test func anEndlessWindowIsAnErrorOnItsField() {
        #expect { try load("name: demo\nservices:\n  app: {command: [x], port: 3000}\nguard:\n  window: \(String(repeating: "9", count: 90))0s\n") }
            throws: { "\($0)".contains("guard.window") }
    }
}

/// Broken manifests and the exact message each must give: file, line, column, field, and what to do.
@Suite struct BrokenManifests {
    static let cases: [(String, String, [String])] = [
        ("YAML syntax error", "name: shop\nservices: [unclosed\n",
         ["swiftdeploy.yaml:3:1: YAML syntax: did not find expected ',' or ']' while parsing a flow sequence"]),
        ("duplicate key", minimal + "\nname: again\n", ["swiftdeploy.yaml:6:1: name: duplicate key (each key may appear once in a mapping)"]),
        ("wrong type for port", minimal.replacingOccurrences(of: "port: 4000", with: "port: abc"),
         ["swiftdeploy.yaml:5:11: services.web.port: expected an integer 1-65535, got \"abc\""]),
        ("port out of range", minimal.replacingOccurrences(of: "port: 4000", with: "port: 70000"),
         ["swiftdeploy.yaml:5:11: services.web.port: expected an integer 1-65535, got \"70000\""]),
        ("unknown key with suggestion", minimal + "\nnginx: { proxy_timout: 5s }",
         ["swiftdeploy.yaml:6:10: nginx.proxy_timout: unknown key; did you mean `proxy_timeout`?"]),
        ("unknown top-level key", minimal + "\nfrobnicate: true",
         ["swiftdeploy.yaml:6:1: frobnicate: unknown key; expected one of: name, state_dir, runtime, services, nginx, network, policy, guard, dashboard, hooks"]),
        ("dashboard beyond loopback without a token", minimal + "\ndashboard: { listen: 0.0.0.0:9090 }",
         ["swiftdeploy.yaml:6:22: dashboard.listen: 0.0.0.0:9090 is reachable beyond this host, so dashboard.token is required (e.g. token: ${DASHBOARD_TOKEN})"]),
        ("service name that is not plain", "name: shop\nservices:\n  \"web;rm -rf\": { command: [x], port: 4000 }\n",
         ["swiftdeploy.yaml:3:17: services.web;rm -rf: a service name is ASCII letters, digits, - and _ (1-63, starting with a letter or digit): it goes into nginx.conf, file paths and docker arguments"]),
        ("health path that breaks out of the healthcheck command", minimal + #"\#n    healthcheck: { path: "/h'; rm -rf / #" }"#,
         [#"swiftdeploy.yaml:6:26: services.web.healthcheck.path: must be a URL path starting with / (letters, digits and - . _ ~ / ? = & % + only), got "/h'; rm -rf / #""#]),
        ("short dashboard token", minimal + "\ndashboard: { token: hunter2 }",
         ["swiftdeploy.yaml:6:21: dashboard.token: a token of 7 characters is guessable; use at least 16 (e.g. openssl rand -hex 24)"]),
        ("clear-text webhook beyond this host", minimal + "\nguard: { slack_webhook: \"http://hooks.example.com/x\" }",
         ["swiftdeploy.yaml:6:25: guard.slack_webhook: expected an https URL (http only to this host), or empty to disable, got \"http://hooks.example.com/x\""]),
        ("missing name", "services:\n  web: { command: [x], port: 1 }\n",
         ["swiftdeploy.yaml:1:1: name: required field is missing (a short name for this deployment, e.g. demo)"]),
        ("missing port", "name: shop\nservices:\n  web: { command: [x] }\n",
         ["swiftdeploy.yaml:3:8: services.web.port: required field is missing (the port the service listens on)"]),
        ("missing command for local", "name: shop\nservices:\n  web: { port: 4000 }\n",
         ["swiftdeploy.yaml:3:8: services.web.command: required field is missing (runtime local starts the service as a process: command: [program, args…]; {port} is replaced by its port)"]),
        ("missing image for compose", "name: shop\nruntime: compose\nservices:\n  web: { port: 4000 }\n",
         ["swiftdeploy.yaml:4:8: services.web.image: required field is missing (runtime compose runs the service from a container image)"]),
        ("bad duration", minimal + "\nnginx: { proxy_timeout: 15 seconds }",
         ["swiftdeploy.yaml:6:25: nginx.proxy_timeout: expected a duration such as 500ms, 30s, 10m or 2h, got \"15 seconds\""]),
        ("bad CIDR", minimal + "\nguard: { allow: [10.0.0.0/33] }",
         ["swiftdeploy.yaml:6:18: guard.allow[0]: expected CIDR blocks such as 10.0.0.0/8 or 2001:db8::/32, got \"10.0.0.0/33\""]),
        ("weight 150", minimal + "\n    canary: { version: 2.0.0, weight: 150 }",
         ["swiftdeploy.yaml:6:39: services.web.canary.weight: expected an integer 0-100, got \"150\""]),
        ("unset environment variable", minimal + "\nguard: { slack_webhook: \"${SLACK_WEBHOOK_URL}\" }",
         ["swiftdeploy.yaml:6:25: guard.slack_webhook: environment variable SLACK_WEBHOOK_URL is not set; export it, or write ${SLACK_WEBHOOK_URL:-default} to give a fallback"]),
        ("unknown runtime", minimal + "\nruntime: kubernetes",
         ["swiftdeploy.yaml:6:10: runtime: expected one of local, compose, got \"kubernetes\""]),
        ("error rate above 100%", minimal + "\npolicy: { canary_safety: { max_error_rate: 150% } }",
         ["swiftdeploy.yaml:6:44: policy.canary_safety.max_error_rate: expected a fraction 0.0-1.0 or a percentage such as 5%, got \"150%\""]),
        ("canary without version", minimal + "\n    canary: { weight: 5 }",
         ["swiftdeploy.yaml:6:13: services.web.canary.version: required field is missing (the canary's version, e.g. 1.1.0)"]),
        ("two services", minimal + "\n  worker: { command: [w], port: 5000 }",
         ["swiftdeploy.yaml:6:11: services.worker: only one service per manifest is supported; nginx fronts web"]),
        ("nginx port clash", minimal + "\nnginx: { port: 4000 }", ["swiftdeploy.yaml:6:16: nginx.port: nginx and the service cannot both use port 4000"]),
        ("metric without a kind", minimal + "\npolicy: { canary_safety: { metrics: { slow: { max: 300 } } } }",
         ["swiftdeploy.yaml:6:45: policy.canary_safety.metrics.slow.kind: required field is missing (one of count, rate, ratio, quantile, value)"]),
        ("log metric on a label", minimal + "\npolicy: { canary_safety: { metrics: { e: { kind: ratio, match: { route: x }, of: { status: 5xx } } } } }",
         ["swiftdeploy.yaml:6:42: policy.canary_safety.metrics.e.match: a log metric matches on method, path, status, not route"]),
        ("prometheus metric without its name", minimal + "\npolicy: { canary_safety: { metrics: { q: { source: prometheus, kind: rate } } } }",
         ["swiftdeploy.yaml:6:42: policy.canary_safety.metrics.q.metric: required field is missing (the Prometheus metric's name, e.g. http_requests_total (a histogram's without _bucket))"]),
        ("ratio without of", minimal + "\npolicy: { canary_safety: { metrics: { e: { kind: ratio } } } }",
         ["swiftdeploy.yaml:6:42: policy.canary_safety.metrics.e.of: required field is missing (which of the matching requests count, e.g. of: { status: 5xx })"]),
        ("zero iterations", minimal + "\npolicy: { canary_safety: { iterations: 0 } }",
         ["swiftdeploy.yaml:6:40: policy.canary_safety.iterations: expected an integer 1-1000, got \"0\""]),
        ("TLS on the HTTP port", minimal + "\nnginx: { port: 8080, tls: { certificate: c.pem, key: k.pem, port: 8080 } }",
         ["swiftdeploy.yaml:6:67: nginx.tls.port: HTTPS needs a port of its own; 8080 is already nginx.port or a service's port"]),
        ("TLS without a key", minimal + "\nnginx:\n  tls: { certificate: c.pem }",
         ["swiftdeploy.yaml:7:8: nginx.tls.key: required field is missing (the PEM private key, e.g. /etc/letsencrypt/live/example.com/privkey.pem)"]),
        ("TLS with a bad HSTS age", minimal + "\nnginx:\n  tls: { certificate: c.pem, key: k.pem, hsts: a year }",
         ["swiftdeploy.yaml:7:48: nginx.tls.hsts: expected a duration such as 500ms, 30s, 10m or 2h, got \"a year\""]),
        ("services is a list", "name: shop\nservices: [web]\n",
         ["swiftdeploy.yaml:2:11: services: expected a mapping of , got a list",
          "swiftdeploy.yaml:2:11: services: required field is missing (one service, e.g. services: { app: { command: [...], port: 3000 } })"]),
        ("bad enforcer", minimal + "\nguard: { enforcer: pf }", ["swiftdeploy.yaml:6:20: guard.enforcer: expected one of nftables, ipset, iptables, dry-run, got \"pf\""]),
        ("empty file", "", ["swiftdeploy.yaml:1:1: the manifest is empty; it needs at least `name` and `services`",
                            "swiftdeploy.yaml:1:1: name: required field is missing (a short name for this deployment, e.g. demo)",
                            "swiftdeploy.yaml:1:1: services: required field is missing (one service, e.g. services: { app: { command: [...], port: 3000 } })"]),
        ("contact with a quote", minimal + "\nnginx: { contact: \"o'brien@example.com\" }",
         ["swiftdeploy.yaml:6:19: nginx.contact: expected an email address or URL without quotes, $ or backslashes, got \"o'brien@example.com\""]),
    ]

    @Test(arguments: cases.map { ($0.0, $0.1, $0.2) })
    func reportsExactly(label: String, yaml: String, expected: [String]) {
        #expect(problems(yaml) == expected, "\(label)")
    }

    /// A value substituted from the environment is a secret as often as not: an error shows the
    /// reference the file holds, never what it became.
    @Test func aSubstitutedSecretIsNeverPrinted() {
        let secret = "hooks.example.com/T000/B000/s3cr3t-s3cr3t"
        let yaml = minimal + "\nguard: { slack_webhook: \"${SLACK_WEBHOOK_URL}\" }"
        #expect(problems(yaml, environment: ["SLACK_WEBHOOK_URL": "http://\(secret)"]) == [
            #"swiftdeploy.yaml:6:25: guard.slack_webhook: expected an https URL (http only to this host), or empty to disable, got "${SLACK_WEBHOOK_URL}" (from the environment; its value is not shown)"#,
        ])
    }

    @Test func everyProblemOfAFileIsReportedAtOnce() {
        let yaml = """
            name: shop
            services:
              web:
                command: [x]
                port: abc
                canary: { version: 2.0.0, weight: 150 }
            nginx: { proxy_timeout: soon, prot: 80 }
            """
        #expect(problems(yaml) == [
            "swiftdeploy.yaml:5:11: services.web.port: expected an integer 1-65535, got \"abc\"",
            "swiftdeploy.yaml:6:39: services.web.canary.weight: expected an integer 0-100, got \"150\"",
            "swiftdeploy.yaml:7:31: nginx.prot: unknown key; did you mean `port`?",
            "swiftdeploy.yaml:7:25: nginx.proxy_timeout: expected a duration such as 500ms, 30s, 10m or 2h, got \"soon\"",
        ])
    }

    @Test func missingFileSaysHowToCreateOne() {
        #expect {
            try ManifestLoader.load(file: "/nonexistent/swiftdeploy.yaml")
        } throws: { error in
            "\(error)" == "/nonexistent/swiftdeploy.yaml:1:1: no manifest here; create one with `swiftdeploy init --example` or pass -f PATH"
        }
    }
}

/// `env_file`: secrets only their owner may read, parsed without ever showing a value.
struct EnvFileSecrets {
    let directory = NSTemporaryDirectory() + "swiftdeploy-env-\(UUID().uuidString.prefix(8))"

    func write(_ text: String, mode: Int) throws -> String {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = "\(directory)/app.env"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
        return path
    }

    func manifest(_ envFile: String) -> String {
        """
        name: shop
        services:
          web:
            command: [shop-server]
            port: 4000
            env_file: \(envFile)
            canary: { version: 2.0.0 }
        """
    }

    @Test func readsCommentsExportsQuotesAndTheLastOfARepeatedKey() throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = try write("# the shop's secrets\n\nDB_PASSWORD=\"p4ss word\"\nexport API_TOKEN='t0k3n'\nEMPTY=\nAPI_TOKEN=newer\n", mode: 0o600)
        #expect(try EnvFile.read(path) == ["DB_PASSWORD": "p4ss word", "API_TOKEN": "newer", "EMPTY": ""])
        let loaded = try ManifestLoader.parse(yaml: manifest("app.env"), file: "\(directory)/swiftdeploy.yaml", directory: directory)
        #expect(loaded.service.envFile == path)
        #expect(loaded.service.canary?.envFile == path, "the canary uses the service's unless it has its own")
    }

    @Test func aFileOthersMayReadIsRefusedNamingTheFieldAndTheFix() throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        _ = try write("DB_PASSWORD=hunter2\n", mode: 0o644)
        let refused = #expect(throws: ManifestError.self) {
            try ManifestLoader.parse(yaml: manifest("app.env"), file: "\(directory)/swiftdeploy.yaml", directory: directory)
        }
        let text = refused?.problems.map(\.description).joined(separator: "\n") ?? ""
        #expect(text.contains("services.web.env_file") && text.contains("mode 644") && text.contains("chmod 600"), "\(text)")
        #expect(text.contains("swiftdeploy.yaml:6"), "names the line: \(text)")
        #expect(!text.contains("hunter2"))
    }

    @Test func aBrokenLineIsNamedButNeverShown() throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = try write("GOOD=1\nthis-is-the-secret-itself\n", mode: 0o600)
        let error = #expect(throws: EnvFileError.self) { try EnvFile.read(path) }
        #expect(error?.description.contains("\(path):2: expected KEY=VALUE") == true, "\(error?.description ?? "")")
        #expect(error?.description.contains("this-is-the-secret-itself") == false)
        let missing = #expect(throws: ManifestError.self) {
            try ManifestLoader.parse(yaml: manifest("nowhere.env"), file: "\(directory)/swiftdeploy.yaml", directory: directory)
        }
        #expect(missing?.problems.map(\.description).joined().contains("does not exist") == true)
    }
}

/// `guard.cohorts` and `guard.asn_table`: off with `false`, tuned with a mapping, wrong values named.
@Suite struct CohortManifest {
    @Test func cohortsCanBeSwitchedOffOrTunedAndTheTableIsResolved() throws {
        #expect(try load(minimal + "\nguard: { cohorts: false }").guardSettings.cohorts == nil)
        let tuned = try load(minimal + "\nguard:\n  asn_table: data/ip2asn.tsv\n  cohorts: { min_addresses: 8, naked_share: 0.8, hold: 1h, ban_after: never }").guardSettings
        var expected = CohortSettings()
        (expected.minimumAddresses, expected.nakedShare, expected.hold, expected.banAfter) = (8, 0.8, 3600, nil)
        #expect(tuned.cohorts == expected)
        #expect(tuned.asnTable == "/srv/site/data/ip2asn.tsv")
        let wrong = problems(minimal + "\nguard:\n  cohorts: { naked_share: 2, windw: 10m }")
        #expect(wrong.contains { $0.contains("guard.cohorts.naked_share") }, "\(wrong)")
        #expect(wrong.contains { $0.contains("guard.cohorts.windw") && $0.contains("window") }, "\(wrong)")
    }
}
