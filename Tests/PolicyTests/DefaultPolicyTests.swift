import Foundation
import Manifest
import Testing

@testable import Policy
import Vocabulary

let limits = PolicyLimits([
    "infrastructure": ["max_cpu_load": 2, "min_disk_free_gb": 10, "max_mem_used_pct": 90],
    "canary_safety": ["max_error_rate": 0.05, "max_p99_latency_ms": 500, "min_requests": 20],
])

/// The shipped policies, decisions and tests.
let shipped = DefaultPolicies.files.map { PolicyFiles.Module(name: $0.name, text: $0.text) }
let shippedDecisions = shipped.filter { !$0.name.hasSuffix("_test.rego") }

func engine(_ extra: [PolicyFiles.Module] = []) -> EmbeddedRegoEngine {
    EmbeddedRegoEngine(modules: shipped + extra, limits: limits)
}

let healthyHost: JSONValue = ["cpu_load": 1.5, "disk_free_gb": 50, "mem_used_pct": 40]
let goodCanary: JSONValue = ["error_rate": 0.01, "p99_latency_ms": 120, "requests": 400, "window_s": 30]

func with(_ base: JSONValue, _ key: String, _ value: JSONValue) -> JSONValue {
    guard case .object(var object) = base else { return base }
    object[key] = value
    return .object(object)
}

/// Each default policy at and around each threshold, through the embedded engine.
@Suite struct DefaultPolicyBoundaries {
    @Test(arguments: [
        ("cpu_load", 1.99, true), ("cpu_load", 2.0, true), ("cpu_load", 2.01, false),
        ("disk_free_gb", 10.01, true), ("disk_free_gb", 10.0, true), ("disk_free_gb", 9.99, false),
        ("mem_used_pct", 89.9, true), ("mem_used_pct", 90.0, true), ("mem_used_pct", 90.1, false),
    ])
    func infrastructure(measure: String, value: Double, allowed: Bool) async {
        let decision = await engine().decide(.infrastructure, input: with(healthyHost, measure, .number(value)))
        #expect(decision.unanswered == nil)
        #expect(decision.allow == allowed, "\(measure)=\(value): \(decision.violations)")
        #expect(decision.violations.count == (allowed ? 0 : 1))
    }

    @Test(arguments: [
        ("error_rate", 0.049, true), ("error_rate", 0.05, true), ("error_rate", 0.0501, false),
        ("p99_latency_ms", 499.9, true), ("p99_latency_ms", 500, true), ("p99_latency_ms", 500.1, false),
        ("requests", 21, true), ("requests", 20, true), ("requests", 19, false),
    ])
    func canarySafety(measure: String, value: Double, allowed: Bool) async {
        let decision = await engine().decide(.canarySafety, input: with(goodCanary, measure, .number(value)))
        #expect(decision.unanswered == nil)
        #expect(decision.allow == allowed, "\(measure)=\(value): \(decision.violations)")
    }

    @Test func messagesCarryObservedValueAndLimit() async {
        let canary = await engine().decide(.canarySafety, input: ["error_rate": 0.2, "p99_latency_ms": 620.4, "requests": 10, "window_s": 30])
        #expect(Set(canary.violations.map(\.message)) == [
            "error_rate 20% exceeds maximum 5%",
            "p99_latency_ms 620.4 exceeds maximum 500",
            "inconclusive: not enough traffic (10 requests in 30s, need at least 20)",
        ])
        let errors = canary.violations.first { $0.rule == "max_error_rate" }
        #expect(errors?.observed == "0.2")
        #expect(errors?.limit == "0.05")
        let host = await engine().decide(.infrastructure, input: ["cpu_load": 3.5, "disk_free_gb": 2.25, "mem_used_pct": 95.5])
        #expect(Set(host.violations.map(\.message)) == [
            "cpu_load 3.5 exceeds maximum 2", "mem_used_pct 95.5 exceeds maximum 90", "disk_free_gb 2.25 is below minimum 10",
        ])
    }

    @Test func missingOrNaNValuesDeny() async {
        let missing = await engine().decide(.infrastructure, input: ["cpu_load": 0.5, "disk_free_gb": 50])
        #expect(!missing.allow)
        #expect(missing.violations.map(\.rule) == ["mem_used_pct"])
        let nan = await engine().decide(.canarySafety, input: with(goodCanary, "p99_latency_ms", .measured(.nan)))
        #expect(!nan.allow)
        #expect(nan.violations.map(\.message) == ["p99_latency_ms is missing or not a number: the canary cannot be judged"])
    }

    @Test func missingLimitsDeny() async {
        for missing in [PolicyLimits(["infrastructure": [:]]), .none, PolicyLimits(["infrastructure": "loose"])] {
            let decision = await EmbeddedRegoEngine(modules: shippedDecisions, limits: missing).decide(.infrastructure, input: healthyHost)
            #expect(!decision.allow)
            #expect(decision.unanswered == nil)
            #expect(Set(decision.violations.map(\.rule)) == ["max_cpu_load", "min_disk_free_gb", "max_mem_used_pct"], "\(missing)")
        }
    }

    @Test func shippedPolicyTestsPass() async {
        let results = await PolicyTestRunner.run(modules: shipped, engine: "embedded", PolicyTestRunner.embedded(shipped))
        #expect(results.count == 36)
        let failures = results.filter { !$0.passed }
        #expect(failures.isEmpty, "\(failures)")
    }

    @Test func failingPolicyTestIsReported() async {
        let broken = PolicyFiles.Module(name: "mine_test.rego", text: """
            package mine_test
            import rego.v1
            test_true if true
            test_wrong if 1 == 2
            """)
        let results = await PolicyTestRunner.run(modules: [broken], engine: "embedded", PolicyTestRunner.embedded([broken]))
        #expect(results.map(\.rule) == ["test_true", "test_wrong"])
        #expect(results.map(\.passed) == [true, false])
        #expect(results[1].detail == "undefined")
    }
}

@Suite struct UserPolicies {
    @Test func anotherFileOfThePackageAddsAViolation() async throws {
        let directory = NSTemporaryDirectory() + "swiftdeploy-policies-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        #expect(try PolicyFiles.install(into: directory).count == 4)
        #expect(try PolicyFiles.install(into: directory).isEmpty, "existing files are never overwritten")
        try """
            package swiftdeploy.infrastructure
            import rego.v1

            extra_violations contains v if {
            \tinput.cpu_load > 1
            \tv := {"rule": "house_rule", "observed": input.cpu_load, "limit": 1, "message": "no deploys above load 1 on this host"}
            }
            """.write(toFile: "\(directory)/house.rego", atomically: true, encoding: .utf8)
        let modules = PolicyFiles.load(directory: directory)
        #expect(modules.map { ($0.name as NSString).lastPathComponent } == [
            "canary_safety.rego", "canary_safety_test.rego", "house.rego", "infrastructure.rego", "infrastructure_test.rego",
        ])
        let engine = EmbeddedRegoEngine(modules: modules, limits: limits)
        let decision = await engine.decide(.infrastructure, input: healthyHost)
        #expect(!decision.allow)
        #expect(decision.violations.map(\.message) == ["no deploys above load 1 on this host"])
        #expect(await engine.decide(.infrastructure, input: with(healthyHost, "cpu_load", 0.5)).allow)
    }

    @Test func syntaxErrorNamesFileAndLine() async {
        let broken = PolicyFiles.Module(name: "/etc/policies/broken.rego", text: "package swiftdeploy.infrastructure\nimport rego.v1\n\nfoo if {\n  input.a ==\n}\n")
        let decision = await engine([broken]).decide(.infrastructure, input: healthyHost)
        #expect(!decision.allow)
        #expect(decision.unanswered == "policy error at /etc/policies/broken.rego:5:11: Invalid boolean operator")
    }

    @Test func missingPolicyPackageDenies() async {
        let engine = EmbeddedRegoEngine(modules: [PolicyFiles.Module(name: "x.rego", text: "package other\nimport rego.v1\nx := 1\n")])
        let decision = await engine.decide(.canarySafety, input: goodCanary)
        #expect(!decision.allow)
        #expect(decision.unanswered?.contains("data.swiftdeploy.canary_safety.decision is undefined") == true)
    }
}

@Suite struct EmbeddedEngineFailsClosed {
    @Test func missingLibraryDeniesNamingThePathAndTheFix() async {
        let engine = EmbeddedRegoEngine(modules: [], library: RegoLibrary.load(path: "/nonexistent/librego_shared.so"))
        let decision = await engine.decide(.infrastructure, input: healthyHost)
        #expect(!decision.allow)
        let reason = decision.unanswered ?? ""
        #expect(reason.contains("cannot load rego-cpp from /nonexistent/librego_shared.so"))
        #expect(reason.contains("run scripts/setup.sh"))
    }

    @Test func brokenLibraryDeniesInsteadOfCrashing() async throws {
        let path = NSTemporaryDirectory() + "swiftdeploy-not-a-library-\(UUID().uuidString.prefix(8)).so"
        try "this is not an ELF file".write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let engine = EmbeddedRegoEngine(modules: [], library: RegoLibrary.load(path: path))
        let decision = await engine.decide(.canarySafety, input: goodCanary)
        #expect(!decision.allow)
        #expect(decision.unanswered?.contains("cannot load rego-cpp from \(path)") == true)
    }

    @Test func searchPathsIncludeTheProjectsDeps() {
        let candidates = RegoLibrary.candidates(environment: ["SWIFTDEPLOY_REGO_LIBRARY": "/opt/x/librego_shared.so"])
        #expect(candidates.first == "/opt/x/librego_shared.so")
        #expect(candidates.contains { $0.hasSuffix("/.deps/regopy/librego_shared.so") })
    }
}

@Suite struct HostProbeReading {
    @Test func parsesProcFiles() {
        #expect(HostProbe.loadAverage("0.42 0.30 0.20 1/123 4567\n") == 0.42)
        #expect(HostProbe.memoryUsedPercent("MemTotal:       1000 kB\nMemFree:  100 kB\nMemAvailable:    250 kB\n") == 75)
        #expect(HostProbe.memoryUsedPercent("MemTotal: 1000 kB\n") == nil)
    }

    @Test func liveReadingIsFinite() {
        let reading = HostProbe().read(diskPath: NSTemporaryDirectory() + "does/not/exist/yet")
        #expect(reading.cpuLoad.isFinite && reading.cpuLoad >= 0)
        #expect(reading.diskFreeGB.isFinite && reading.diskFreeGB > 0)
        #expect(reading.memUsedPct > 0 && reading.memUsedPct < 100)
    }
}

/// The embedded engine's library is code loaded into a root process: never from the working
/// directory, never a file others may write.
@Suite struct RegoLibrarySearch {
    @Test func onlyInstalledPathsAndTheBinarysOwnFolders() {
        let library = ".deps/regopy/librego_shared.so"
        #expect(RegoLibrary.candidates(environment: [:], executable: "/opt/sd/bin/swiftdeploy") == [
            "/usr/lib/swiftdeploy/regopy/librego_shared.so", "/usr/local/lib/swiftdeploy/regopy/librego_shared.so",
            "/opt/sd/bin/\(library)", "/opt/sd/\(library)", "/opt/\(library)", "/\(library)",
        ])
        #expect(!RegoLibrary.candidates(environment: [:], executable: "/opt/sd/bin/swiftdeploy")
            .contains { $0.hasPrefix(FileManager.default.currentDirectoryPath) })
    }

    @Test func aFileOthersMayWriteIsNotTrusted() throws {
        let directory = NSTemporaryDirectory() + "swiftdeploy-trust-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let library = "\(directory)/librego_shared.so"
        FileManager.default.createFile(atPath: library, contents: Data("x".utf8), attributes: [.posixPermissions: 0o644])
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: directory)
        #expect(RegoLibrary.isTrusted(library))
        try FileManager.default.setAttributes([.posixPermissions: 0o666], ofItemAtPath: library)
        #expect(!RegoLibrary.isTrusted(library))
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: library)
        try FileManager.default.setAttributes([.posixPermissions: 0o777], ofItemAtPath: directory)
        #expect(!RegoLibrary.isTrusted(library))
    }
}

/// The violations table shows figures as a person reads them, not as a double prints.
struct ViolationFigures {
    @Test(arguments: [(JSONValue.number(0.23529411764705882), "0.235"), (.number(480.1234), "480.12"), (.number(12), "12"),
                      (.number(12.5), "12.5"), (.number(0.0004), "0.0004"), (.number(-3.25), "-3.25"), (.string("0.05"), "0.05"),
                      (.null, "null")])
    func figuresAreRounded(value: JSONValue, shown: String) {
        #expect(Decision.text(value) == shown)
    }
}
