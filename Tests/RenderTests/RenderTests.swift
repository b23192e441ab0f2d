import Foundation
import Manifest
import Runtime
import Spawn
import TestSupport
import Testing

@testable import Render

private let here = URL(fileURLWithPath: #filePath).deletingLastPathComponent()

private func manifest(_ yaml: String) throws -> Manifest {
    try ManifestLoader.parse(yaml: yaml, file: "swiftdeploy.yaml", directory: "/srv/shop")
}

private func golden(_ name: String) throws -> String {
    try String(contentsOf: here.appendingPathComponent("Golden/\(name)"), encoding: .utf8)
}

/// Compares with a hand-written golden file and shows a unified diff when they differ.
private func expectGolden(_ text: String, _ name: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
    let expected = try golden(name)
    #expect(text == expected, "\(TextDiff.unified(old: expected, new: text, oldName: name, newName: "rendered"))", sourceLocation: sourceLocation)
}

private let shop = """
    name: shop
    services:
      web:
        image: shop:1.0
        command: [shop-server, --port, "{port}"]
        port: 4000
        version: 1.0.0
    """

/// Manifests covering the shapes nginx.conf can take; each must pass a real `nginx -t`.
private let nginxVariants: [String] = [
    shop,
    shop + "\n    canary: { version: 1.1.0, weight: 0 }",
    shop + "\n    canary: { version: 1.1.0, weight: 10 }",
    shop + "\n    canary: { version: 1.1.0, weight: 100 }",
    shop + "\n    canary: { version: 1.1.0, weight: 33 }\nnginx: { sticky: true, proxy_timeout: 500ms }",
    shop + "\nguard: { trusted_proxies: [10.0.0.0/8, \"::1\"] }\nnginx: { contact: \"https://status.shop.example/help\" }",
    shop + "\nnginx: { listen: \"::1\", port: 8443 }",
    shop + "\nnginx: { listen: 0.0.0.0, proxy_timeout: 2m }",
]

@Suite struct NginxConfigRendering {
    @Test func minimalLocalMatchesHandWrittenGolden() throws {
        let text = NginxConfig.render(try manifest(shop), target: .local, routing: Routing(stablePort: 4000), manifestHash: "0123abcd")
        try expectGolden(text, "shop-local.nginx.conf")
    }

    @Test func stickyCanaryBehindTrustedProxiesForComposeMatchesGolden() throws {
        let yaml = shop + """

                canary: { version: 1.1.0, weight: 25 }
            runtime: compose
            nginx: { port: 9000, proxy_timeout: 3s, sticky: true, contact: ops@shop.example }
            guard: { trusted_proxies: [10.0.0.0/8, "2001:db8::/32"] }
            """
        let text = NginxConfig.render(try manifest(yaml), target: .compose, routing: .declared(try manifest(yaml)), manifestHash: "0123abcd")
        try expectGolden(text, "shop-canary-compose.nginx.conf")
    }

    @Test(arguments: nginxVariants.indices)
    func everyVariantPassesRealNginxTest(index: Int) throws {
        let parsed = try manifest(nginxVariants[index])
        let prefix = NSTemporaryDirectory() + "swiftdeploy-render-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: prefix) }
        let server = NginxServer(prefix: prefix, configFile: "\(prefix)/nginx.conf")
        try server.prepare()
        let text = NginxConfig.render(parsed, target: .local, routing: .declared(parsed), manifestHash: "x")
        try text.write(toFile: server.configFile, atomically: true, encoding: .utf8)
        #expect(throws: Never.self) { try server.test() }
    }

    /// HTTPS with each choice of redirect and HSTS, loaded by real nginx with a pair openssl made and
    /// the runtime installed beside nginx.conf.
    @Test(arguments: [(true, "365d"), (false, "0s")])
    func tlsVariantsPassRealNginxTest(redirect: Bool, hsts: String) throws {
        let certificates = try TestCertificates(directory: TestSupport.temporaryDirectory("render-tls"))
        defer { try? FileManager.default.removeItem(atPath: certificates.directory) }
        let leaf = try certificates.leaf("site")
        let parsed = try manifest(shop + "\nnginx:\n  port: 8080\n  tls: { certificate: \(leaf.fullChain), key: \(leaf.key), port: 8443, redirect: \(redirect), hsts: \(hsts) }")
        let prefix = certificates.directory + "/nginx"
        let server = NginxServer(prefix: prefix, configFile: "\(prefix)/nginx.conf")
        try server.prepare()
        try installEdgeCertificate(parsed, nextTo: server.configFile)
        #expect(try FileManager.default.attributesOfItem(atPath: "\(prefix)/tls/key.pem")[.posixPermissions] as? Int == 0o600)
        let text = NginxConfig.render(parsed, target: .local, routing: .declared(parsed), manifestHash: "x")
        try text.write(toFile: server.configFile, atomically: true, encoding: .utf8)
        #expect(throws: Never.self) { try server.test() }
        #expect(text.contains("listen 127.0.0.1:8443 ssl http2;"))
        #expect(text.contains("ssl_protocols TLSv1.2 TLSv1.3;"))
        #expect(text.contains("return 308 https://$host:8443$request_uri;") == redirect)
        #expect(text.contains("Strict-Transport-Security \"max-age=31536000\"") == (hsts != "0s"))
        // Without the redirect both ports proxy to the tracks.
        #expect(text.components(separatedBy: "proxy_pass http://swiftdeploy_$swiftdeploy_track;").count - 1 == (redirect ? 1 : 2))
    }

    @Test func brokenConfigIsRejectedByRealNginx() throws {
        // Guards the test above: a config nginx cannot accept must fail it.
        let prefix = NSTemporaryDirectory() + "swiftdeploy-render-bad-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: prefix) }
        let server = NginxServer(prefix: prefix, configFile: "\(prefix)/nginx.conf")
        try server.prepare()
        try "events {}\nhttp { server { listen 8080; frobnicate on; } }\n".write(toFile: server.configFile, atomically: true, encoding: .utf8)
        #expect { try server.test() } throws: { "\($0)".contains("unknown directive \"frobnicate\"") }
    }

    @Test func headerCarriesTheManifestHash() throws {
        let text = NginxConfig.render(try manifest(shop), target: .local, routing: .declared(try manifest(shop)), manifestHash: "feedface")
        #expect(GeneratedHeader.manifestHash(in: text) == "feedface")
        #expect(text.hasPrefix("# Generated by swiftdeploy"))
    }
}

@Suite struct ComposeRendering {
    @Test func opaSidecarAndEnvironmentMatchHandWrittenGolden() throws {
        let yaml = shop + """

                env: { DATABASE_URL: "postgres://db/shop" }
            runtime: compose
            policy: { engine: opa }
            """
        try expectGolden(try ComposeFile.render(try manifest(yaml), manifestHash: "0123abcd"), "shop-opa.docker-compose.yml")
    }

    @Test(arguments: nginxVariants.indices)
    func everyVariantValidatesAgainstTheComposeSpec(index: Int) throws {
        let text = try ComposeFile.render(try manifest(nginxVariants[index] + "\npolicy: { engine: opa }"), manifestHash: "x")
        let result = try validateAgainstComposeSpec(text)
        #expect(result.status == 0, "\(result.output)")
    }

    @Test func schemaCheckCatchesAnInvalidFile() throws {
        // Guards the test above: the validator must reject what the spec forbids.
        let result = try validateAgainstComposeSpec("services:\n  web:\n    image: x\n    restart: sometimes\n    cap_drop: ALL\n")
        #expect(result.status != 0)
    }

    @Test func appsArePublishedOnLoopbackOnlyAndEveryServiceLocksDown() throws {
        let text = try ComposeFile.render(try manifest(shop + "\n    canary: { version: 1.1.0 }"), manifestHash: "x")
        let document = try #require(try JSONSerialization.jsonObject(with: Data(pythonYAMLToJSON(text).utf8)) as? [String: Any])
        let services = try #require(document["services"] as? [String: [String: Any]])
        #expect(Set(services.keys) == ["web", "web-canary", "nginx"])
        for (name, port) in [("web", "4000"), ("web-canary", "4001")] {
            let service = try #require(services[name])
            #expect(service["ports"] as? [String] == ["127.0.0.1:\(port):\(port)"], "\(name) is reachable from this host only")
            #expect(service["container_name"] as? String == "shop-web-\(port)")
            #expect(service["read_only"] as? Bool == true)
        }
        for (name, service) in services {
            #expect(service["cap_drop"] as? [String] == ["ALL"], "\(name)")
            #expect(service["cap_add"] == nil, "\(name)")
            #expect(service["security_opt"] as? [String] == ["no-new-privileges:true"], "\(name)")
            #expect(service["restart"] as? String == "unless-stopped", "\(name)")
            #expect((service["user"] as? String)?.hasPrefix("0:") != true, "\(name) never runs as root")
            #expect((service["labels"] as? [String: String])?["io.swiftdeploy.project"] == "shop", "\(name)")
        }
        // nginx on the host's network (clients' own addresses), its config and log from the state directory.
        let nginx = try #require(services["nginx"])
        #expect(nginx["network_mode"] as? String == "host")
        #expect(nginx["ports"] == nil)
        #expect(nginx["user"] as? String == "101:101")
        #expect(nginx["volumes"] as? [String] == ["./.swiftdeploy/nginx/conf:/etc/swiftdeploy:ro", "./.swiftdeploy/nginx/logs:/var/log/swiftdeploy"])
    }
}

@Suite struct RenderingIsDeterministic {
    /// A random but valid manifest; the same seed gives the same text.
    static func randomManifest(_ random: inout some RandomNumberGenerator) -> String {
        let port = Int.random(in: 1024...20000, using: &random)
        var yaml = "name: app\(Int.random(in: 1...99, using: &random))\n"
        if Bool.random(using: &random) { yaml += "runtime: compose\n" }
        yaml += "services:\n  svc:\n    image: img:\(Int.random(in: 1...9, using: &random))\n    command: [run, \"{port}\"]\n    port: \(port)\n"
        var env = ["A": "1", "B": "two", "C_VAR": "x y", "D": "4", "E": "5"]
        if Bool.random(using: &random) {
            yaml += "    env:\n" + env.keys.shuffled(using: &random).map { "      \($0): \"\(env[$0]!)\"\n" }.joined()
        } else {
            env = [:]
        }
        if Bool.random(using: &random) {
            yaml += "    canary: { version: 2.0.0, weight: \(Int.random(in: 0...100, using: &random)) }\n"
        }
        var nginx = ["port: \(port + 1 + Int.random(in: 1...100, using: &random))", "proxy_timeout: \(Int.random(in: 1...90, using: &random))s"]
        if Bool.random(using: &random) { nginx.append("sticky: true") }
        yaml += "nginx: { " + nginx.shuffled(using: &random).joined(separator: ", ") + " }\n"
        if Bool.random(using: &random) { yaml += "policy: { engine: opa }\n" }
        if Bool.random(using: &random) { yaml += "guard: { trusted_proxies: [10.0.0.0/8, 192.168.0.0/16] }\n" }
        return yaml
    }

    @Test func sameManifestSameBytesWhateverTheKeyOrder() throws {
        var random = SplitMix(seed: 7)
        for _ in 0..<200 {
            let yaml = Self.randomManifest(&random)
            let parsed = try manifest(yaml)
            let first = try GeneratedFiles.render(parsed, manifestHash: "h")
            let second = try GeneratedFiles.render(try manifest(yaml), manifestHash: "h")
            #expect(first == second)
            // Reordering the top-level sections of the manifest changes nothing.
            let sections = yaml.split(separator: "\n", omittingEmptySubsequences: false).reduce(into: [[Substring]]()) { groups, line in
                if line.first.map({ $0 != " " }) ?? false { groups.append([line]) } else if !groups.isEmpty { groups[groups.count - 1].append(line) }
            }
            let reordered = sections.reversed().map { $0.joined(separator: "\n") }.joined(separator: "\n") + "\n"
            #expect(try GeneratedFiles.render(try manifest(reordered), manifestHash: "h") == first, "\(yaml)")
        }
    }
}

struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Validates compose YAML against the Compose specification's JSON schema (python3 jsonschema, installed by scripts/setup.sh).
func validateAgainstComposeSpec(_ yaml: String) throws -> (status: Int32, output: String) {
    let script = """
        import json, sys, yaml, jsonschema
        schema = json.load(open(sys.argv[1]))
        jsonschema.validate(yaml.safe_load(sys.stdin.read()), schema)
        print("valid")
        """
    return try python(script, arguments: [here.appendingPathComponent("compose-spec.json").path], input: yaml)
}

func pythonYAMLToJSON(_ yaml: String) throws -> String {
    try python("import json, sys, yaml; print(json.dumps(yaml.safe_load(sys.stdin.read())))", arguments: [], input: yaml).output
}

func python(_ script: String, arguments: [String], input: String) throws -> (status: Int32, output: String) {
    try ChildProcess.run(["python3", "-c", script] + arguments, input: input)
}

@Suite struct UnifiedDiffs {
    @Test func equalTextsHaveNoDiff() {
        #expect(TextDiff.unified(old: "a\nb\n", new: "a\nb\n", oldName: "x", newName: "y") == "")
    }

    @Test func hunksHaveContextAndCounts() {
        let old = (1...20).map { "line \($0)" }.joined(separator: "\n") + "\n"
        let new = old.replacingOccurrences(of: "line 3\n", with: "line three\n").replacingOccurrences(of: "line 18\n", with: "")
        #expect(TextDiff.unified(old: old, new: new, oldName: "a", newName: "b") == """
            --- a
            +++ b
            @@ -1,6 +1,6 @@
             line 1
             line 2
            -line 3
            +line three
             line 4
             line 5
             line 6
            @@ -15,6 +15,5 @@
             line 15
             line 16
             line 17
            -line 18
             line 19
             line 20

            """)
    }
}

/// What the compose runtime runs for an instance is the compose file's service for its track.
@Suite struct InstanceRunArguments {
    @Test func runArgumentsCarryTheServicesSettingsOnTheInstancesSlot() throws {
        let parsed = try manifest(shop)
        let (arguments, environment) = ComposeFile.runCommand(parsed, .init(image: "shop:2.0", port: 14000, version: "2.0.0", mode: "canary",
                                                                              env: ["LOG": "debug", "API_KEY": "s3cret"]))
        #expect(Array(arguments.prefix(4)) == ["run", "--detach", "--name", "shop-web-14000"])
        #expect(arguments.last == "shop:2.0", "the image, and no command: the image's own entry point runs")
        let pairs = Set(zip(arguments, arguments.dropFirst()).map { "\($0) \($1)" })
        for expected in ["--publish 127.0.0.1:14000:14000", "--env PORT", "--env MODE", "--env APP_VERSION",
                         "--env LOG", "--env HOST", "--env API_KEY", "--label io.swiftdeploy.project=shop", "--label io.swiftdeploy.track=canary",
                         "--cap-drop ALL", "--security-opt no-new-privileges:true", "--network shop-net", "--tmpfs /tmp",
                         "--restart unless-stopped"] {
            #expect(pairs.contains(expected), "\(expected) in \(arguments)")
        }
        #expect(arguments.contains("--read-only"))
        // Values travel in the docker CLI's environment, never in arguments other users see in `ps`.
        #expect(environment == ["PORT": "14000", "HOST": "0.0.0.0", "MODE": "canary", "APP_VERSION": "2.0.0", "LOG": "debug", "API_KEY": "s3cret"])
        #expect(!arguments.contains { $0.contains("s3cret") || $0.contains("=debug") })
        #expect(!arguments.contains("--user"), "the image's own (non-root) user")
    }
}
