import Foundation
import Manifest
import TestSupport
import Testing

@testable import Deploy
import Vocabulary

func temporaryProject(_ yaml: String) throws -> String {
    let directory = NSTemporaryDirectory() + "swiftdeploy-usecase-\(UUID().uuidString.prefix(8))"
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    try yaml.write(toFile: "\(directory)/swiftdeploy.yaml", atomically: true, encoding: .utf8)
    return directory
}

let shop = """
    name: shop
    services:
      web:
        command: [sh, -c, "exec sleep 60"]
        port: 4000
        version: 1.0.0
    nginx: { port: 18080 }
    """

@Suite struct InitAndDiff {
    @Test func initIsIdempotentAndDeterministic() throws {
        let directory = try temporaryProject(shop)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let project = try Project(file: "\(directory)/swiftdeploy.yaml")
        let first = try InitUseCase(project: project, console: BufferConsole()).run(out: nil)
        #expect(first.map(\.changed) == [true, true])
        #expect(first.map { ($0.path as NSString).lastPathComponent } == ["nginx.conf", "docker-compose.yml"])
        // nginx (another user in a container) reads nginx.conf; the compose file holds `env:` values.
        #expect(try first.map { try FileManager.default.attributesOfItem(atPath: $0.path)[.posixPermissions] as? Int } == [0o644, 0o600])
        let bytes = try first.map { try Data(contentsOf: URL(fileURLWithPath: $0.path)) }
        let modified = try first.map { try FileManager.default.attributesOfItem(atPath: $0.path)[.modificationDate] as? Date }

        let again = try InitUseCase(project: project, console: BufferConsole()).run(out: nil)
        #expect(again.map(\.changed) == [false, false])
        #expect(try first.map { try FileManager.default.attributesOfItem(atPath: $0.path)[.modificationDate] as? Date } == modified)

        for file in first { try FileManager.default.removeItem(atPath: file.path) }
        _ = try InitUseCase(project: try Project(file: "\(directory)/swiftdeploy.yaml"), console: BufferConsole()).run(out: nil)
        #expect(try first.map { try Data(contentsOf: URL(fileURLWithPath: $0.path)) } == bytes)
        // The header names the manifest's SHA-256.
        let nginx = String(decoding: bytes[0], as: UTF8.self)
        #expect(nginx.contains("manifest-sha256: \(project.manifestHash)"))
        #expect(project.manifestHash.count == 64)
    }

    @Test func initWritesIntoOut() throws {
        let directory = try temporaryProject(shop)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let written = try InitUseCase(project: try Project(file: "\(directory)/swiftdeploy.yaml"), console: BufferConsole())
            .run(out: "\(directory)/generated")
        #expect(written.map(\.path) == ["\(directory)/generated/nginx.conf", "\(directory)/generated/docker-compose.yml"])
    }

    @Test func diffReportsDriftAsAUnifiedDiff() throws {
        let directory = try temporaryProject(shop)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let file = "\(directory)/swiftdeploy.yaml"
        let missing = BufferConsole()
        #expect(try DiffUseCase(project: try Project(file: file), console: missing).run(out: nil))
        #expect(missing.text.contains("missing: \(directory)/nginx.conf (run `swiftdeploy init`)"))

        _ = try InitUseCase(project: try Project(file: file), console: BufferConsole()).run(out: nil)
        let clean = BufferConsole()
        #expect(try DiffUseCase(project: try Project(file: file), console: clean).run(out: nil) == false)
        #expect(clean.text.hasSuffix("no drift\n"))

        // Change the manifest: the generated files now drift.
        try shop.replacingOccurrences(of: "port: 18080", with: "port: 18081").write(toFile: file, atomically: true, encoding: .utf8)
        let drift = BufferConsole()
        #expect(try DiffUseCase(project: try Project(file: file), console: drift).run(out: nil))
        #expect(drift.text.contains("--- \(directory)/nginx.conf (on disk)\n+++ \(directory)/nginx.conf (from swiftdeploy.yaml)\n"))
        #expect(drift.text.contains("\n-        listen 127.0.0.1:18080;\n+        listen 127.0.0.1:18081;\n"))
        #expect(!drift.text.contains("same:    \(directory)/nginx.conf"))
    }

    @Test func exampleIsWrittenOnlyWhenAbsent() throws {
        let directory = NSTemporaryDirectory() + "swiftdeploy-example-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let file = "\(directory)/swiftdeploy.yaml"
        try InitUseCase.writeExample(to: file, console: BufferConsole())
        #expect(try String(contentsOfFile: file, encoding: .utf8) == ExampleManifest.text)
        try "name: mine\n".write(toFile: file, atomically: true, encoding: .utf8)
        let console = BufferConsole()
        try InitUseCase.writeExample(to: file, console: console)
        #expect(try String(contentsOfFile: file, encoding: .utf8) == "name: mine\n")
        #expect(console.text.contains("already exists"))
    }
}

@Suite struct Validation {
    func outcomes(_ yaml: String) async throws -> [String] {
        let directory = try temporaryProject(yaml)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        return await ValidateUseCase(file: "\(directory)/swiftdeploy.yaml", console: BufferConsole()).run().map { "\($0.outcome.rawValue) \($0.name)" }
    }

    @Test func healthyManifestPassesEveryCheck() async throws {
        #expect(try await outcomes(shop) == [
            "PASS manifest parses", "PASS required fields are present", "PASS stable command is executable",
            "PASS stable ports 4000 and 14000 are free or this stack's", "PASS nginx port 18080 is free", "SKIP guard log parses",
            "PASS infrastructure policy answers", "PASS canary_safety policy answers", "PASS nginx -t accepts the generated config",
        ])
    }

    /// The end of guard.log read in guard.log_format: most lines unreadable fails, a few warn, none pass.
    @Test(arguments: [("json", 0, "FAIL"), ("auto", 0, "PASS"), ("combined", 0, "PASS"), ("combined", 3, "WARN"), ("auto", 150, "FAIL")])
    func theGuardLogIsReadInItsFormat(format: String, garbage: Int, outcome: String) async throws {
        let directory = try temporaryProject(shop + "\nguard: { log: access.log, log_format: \(format) }\n")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let line = #"192.0.2.1 - - [15/Jan/2027:08:00:00 +0000] "GET / HTTP/1.1" 200 512 "-" "curl/8""# + "\n"
        let text = String(repeating: line, count: 300 - garbage) + String(repeating: "not a log line\n", count: garbage)
        try text.write(toFile: "\(directory)/access.log", atomically: true, encoding: .utf8)
        let console = BufferConsole()
        let checks = await ValidateUseCase(file: "\(directory)/swiftdeploy.yaml", console: console).run()
        let check = try #require(checks.first { $0.name == "guard log parses" })
        #expect(check.outcome.rawValue == outcome, "\(check.detail)")
        switch outcome {
        case "FAIL":
            #expect(check.detail.contains("do not parse as"), "\(check.detail)")
            #expect(check.detail.contains("set guard.log_format to the format nginx writes"), "says what to do: \(check.detail)")
        case "PASS": #expect(check.detail.hasSuffix("its last 200 lines read as \(format == "auto" ? "combined (recognised from the log)" : "combined")"), "\(check.detail)")
        default: #expect(check.detail.contains("3 of 200 lines (1.5%) do not parse as combined; e.g. \"not a log line\""), "\(check.detail)")
        }
    }

    /// ipset holds at most 2,147,483 s: a 30-day ban goes in without a timeout, and validate says so.
    @Test func banLengthsBeyondTheFirewallsTimeoutsAreSaid() async throws {
        let directory = try temporaryProject(shop + "\nguard: { enforcer: ipset, bans: [10m, 30d, permanent] }\n")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let checks = await ValidateUseCase(file: "\(directory)/swiftdeploy.yaml", console: BufferConsole()).run()
        let check = try #require(checks.first { $0.name == "ban lengths fit ipset's timeouts" })
        #expect(check.outcome == .warn)
        #expect(check.detail.hasPrefix("720h is longer than ipset holds (2147483 s)") && check.detail.contains("the guard lifts it when due"), "\(check.detail)")
        #expect(try await outcomes(shop + "\nguard: { enforcer: nftables, bans: [10m, 30d, permanent] }\n").allSatisfy { !$0.contains("ban lengths") })
    }

    @Test func eachProblemFailsItsOwnCheck() async throws {
        let listener = TestSupport.listenOnLoopback(port: 18090)
        defer { close(listener.fd) }
        let yaml = shop.replacingOccurrences(of: "command: [sh,", with: "command: [no-such-binary-x,")
            .replacingOccurrences(of: "port: 18080", with: "port: 18090")
        #expect(try await outcomes(yaml) == [
            "PASS manifest parses", "PASS required fields are present", "FAIL stable command is executable",
            "PASS stable ports 4000 and 14000 are free or this stack's", "FAIL nginx port 18090 is free", "SKIP guard log parses",
            "PASS infrastructure policy answers", "PASS canary_safety policy answers", "PASS nginx -t accepts the generated config",
        ])
    }

    @Test func brokenManifestFailsParsingAndListsEveryProblem() async throws {
        let directory = try temporaryProject("name: shop\nservices:\n  web: { port: abc }\n")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let console = BufferConsole()
        let checks = await ValidateUseCase(file: "\(directory)/swiftdeploy.yaml", console: console).run()
        #expect(checks.map(\.outcome) == [.fail, .fail])
        #expect(console.text.contains("services.web.port: expected an integer 1-65535, got \"abc\""))
        #expect(console.text.contains("services.web.command: required field is missing"))
    }

    @Test func composeChecksTheEngineAndTheImages() async throws {
        // Whether an engine answers here or not, validate says so, and an image nobody built never passes.
        let engine = DockerTestEngine.answers()
        let checks = try await outcomes("name: shop\nruntime: compose\nservices:\n  web: { image: shop:never-built, port: 4000 }\nnginx: { port: 18082 }\n")
        #expect(checks.contains { $0.hasPrefix(engine ? "PASS Docker engine answers" : "FAIL Docker engine answers") }, "\(checks)")
        #expect(checks.contains(engine ? "FAIL image shop:never-built exists locally" : "SKIP image shop:never-built exists locally"), "\(checks)")
    }
}
