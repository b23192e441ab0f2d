import Foundation
import Manifest
import Policy
import Vocabulary

/// `swiftdeploy policy check`: one decision, shown as a verdict and a table (or JSON).
public struct PolicyCheckUseCase: Sendable {
    /// How the command ends: 0 allowed, 1 denied, 2 the engine could not answer (also a deny).
    public enum Outcome: Int32, Sendable {
        case allowed = 0
        case denied = 1
        case unanswered = 2
    }

    public let project: Project
    public let console: any Console
    public let engine: any PolicyEngine

    public init(project: Project, console: any Console = TerminalConsole(), engine: (any PolicyEngine)? = nil) {
        self.project = project
        self.console = console
        self.engine = engine ?? PolicySetup(manifest: project.manifest).engine()
    }

    public func run(policy: PolicyName, inputFile: String?, json: Bool) async throws -> Outcome {
        let input = try await self.input(for: policy, file: inputFile)
        let decision = await engine.decide(policy, input: input)
        if json {
            console.say(decision.jsonLine)
        } else {
            console.say(PolicyReport.lines(decision, input: input).joined(separator: "\n"))
        }
        return decision.unanswered != nil ? .unanswered : decision.allow ? .allowed : .denied
    }

    func input(for policy: PolicyName, file: String?) async throws -> JSONValue {
        if let file {
            guard let data = FileManager.default.contents(atPath: file) else { throw PolicyInputError("cannot read input file \(file)") }
            guard let value = JSONValue(parsing: data), case .object = value else {
                throw PolicyInputError("\(file) is not a JSON object; expected e.g. {\"cpu_load\": 0.5, \"disk_free_gb\": 40, \"mem_used_pct\": 35}")
            }
            return value
        }
        switch policy {
        case .infrastructure:
            return HostProbe().read(diskPath: project.manifest.stateDirectory).input
        case .canarySafety:
            return try await Stack(project: project, console: console, engine: engine).canaryInput().input
        }
    }
}

/// A policy input the user pointed at is unusable.
public struct PolicyInputError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// How a decision reads on a terminal: PASS/BLOCK with the reason, then a violations table.
public enum PolicyReport {
    public static func lines(_ decision: Decision, input: JSONValue) -> [String] {
        let milliseconds = String(format: "%.2f", decision.duration.seconds * 1000)
        var lines = ["input: \(input)"]
        if decision.allow {
            lines.append("PASS \(decision.policy.rawValue) (\(decision.engine), \(milliseconds) ms)")
            return lines
        }
        if let reason = decision.unanswered {
            lines.append("BLOCK \(decision.policy.rawValue): the policy engine could not answer, so the answer is no")
            lines.append("  \(reason)")
            return lines
        }
        lines += decision.violations.map { "BLOCK \(decision.policy.rawValue): \($0.message)" }
        let rows = [["rule", "observed", "limit", "message"]] + decision.violations.map { [$0.rule, $0.observed, $0.limit, $0.message] }
        lines += TextTable.lines(rows, rule: true).map { "  \($0)" }
        lines.append("(\(decision.engine), \(milliseconds) ms)")
        return lines
    }
}

/// Which engines a policy command runs on: the embedded one, an OPA server, or both side by side.
public enum PolicyEngines: String, Sendable, CaseIterable {
    case embedded, opa, both

    /// The engines, in order, for this project (`opaURL` overrides the manifest's `policy.opa_url`).
    public func engines(_ setup: PolicySetup, opaURL: String?) -> [any PolicyEngine] {
        switch self {
        case .embedded: [setup.embeddedEngine()]
        case .opa: [setup.opaEngine(url: opaURL)]
        case .both: [setup.embeddedEngine(), setup.opaEngine(url: opaURL)]
        }
    }
}

/// `swiftdeploy policy test`: runs the `test_*` rules in the policy directory on one engine or both;
/// with both, a test that passes on one and fails on the other is a failure of its own.
public struct PolicyTestUseCase: Sendable {
    public let project: Project
    public let console: any Console

    public init(project: Project, console: any Console = TerminalConsole()) {
        self.project = project
        self.console = console
    }

    /// Returns true when every test passed on every engine asked (and there was at least one).
    public func run(on choice: PolicyEngines = .embedded, opaURL: String? = nil) async -> Bool {
        let setup = PolicySetup(manifest: project.manifest)
        let modules = PolicyFiles.load(directory: setup.directory)
        var results: [PolicyTestRunner.Result] = []
        for engine in choice.engines(setup, opaURL: opaURL) {
            let evaluate = if let opa = engine as? OPAEngine { await PolicyTestRunner.opa(opa, modules) } else { PolicyTestRunner.embedded(modules) }
            results += await PolicyTestRunner.run(modules: modules, engine: engine.name, evaluate)
        }
        for result in results {
            console.say("\(result.passed ? "PASS" : "FAIL") \(result.engine) \((result.file as NSString).lastPathComponent): \(result.rule)\(result.detail.isEmpty ? "" : " (\(result.detail))")")
        }
        let byTest = Dictionary(grouping: results) { "\(($0.file as NSString).lastPathComponent): \($0.rule)" }
        let disagreements = byTest.filter { Set($0.value.map(\.passed)).count > 1 }.keys.sorted()
        for test in disagreements { console.warn("the engines disagree on \(test)") }
        let failed = results.filter { !$0.passed }.count
        console.say("\(results.count - failed) passed, \(failed) failed\(choice == .both ? ", \(disagreements.count) disagreements" : "")")
        if results.isEmpty { console.warn("no test_ rules found in \(setup.directory)") }
        return failed == 0 && !results.isEmpty
    }
}

/// `swiftdeploy policy bench`: warm decision latency of each engine asked on the default
/// policies' inputs (p50, p99, max) and decisions per second, side by side.
public struct PolicyBenchUseCase: Sendable {
    public struct Figures: Sendable {
        public let engine: String
        public let decisions: Int
        public let p50: Duration
        public let p99: Duration
        public let max: Duration
        public let perSecond: Double
    }

    public let engines: [any PolicyEngine]
    public let console: any Console

    public init(project: Project, engines choice: PolicyEngines? = nil, opaURL: String? = nil, console: any Console = TerminalConsole()) {
        let setup = PolicySetup(manifest: project.manifest)
        engines = (choice ?? PolicyEngines(rawValue: setup.settings.engine.rawValue) ?? .embedded).engines(setup, opaURL: opaURL)
        self.console = console
    }

    public func run(decisions: Int) async -> [Figures] {
        var all: [Figures] = []
        for engine in engines { all.append(await run(engine, decisions: decisions)) }
        return all
    }

    func run(_ engine: any PolicyEngine, decisions: Int) async -> Figures {
        let inputs: [(PolicyName, JSONValue)] = [
            (.infrastructure, ["cpu_load": 0.5, "disk_free_gb": 40, "mem_used_pct": 35]),
            (.canarySafety, ["error_rate": 0.2, "p99_latency_ms": 450, "requests": 120, "window_s": 30]),
        ]
        for (policy, input) in inputs { _ = await engine.decide(policy, input: input) }  // warm: modules compiled once
        var latencies: [Duration] = []
        latencies.reserveCapacity(decisions)
        let started = ContinuousClock.now
        for index in 0..<decisions {
            let (policy, input) = inputs[index % inputs.count]
            let before = ContinuousClock.now
            _ = await engine.decide(policy, input: input)
            latencies.append(ContinuousClock.now - before)
        }
        let elapsed = ContinuousClock.now - started
        latencies.sort()
        let figures = Figures(
            engine: engine.name, decisions: decisions, p50: latencies[latencies.count / 2],
            p99: latencies[min(latencies.count - 1, Int(Double(latencies.count) * 0.99))], max: latencies.last ?? .zero,
            perSecond: Double(decisions) / elapsed.seconds)
        func ms(_ duration: Duration) -> String { String(format: "%.3f ms", duration.seconds * 1000) }
        console.say("policy bench (\(engine.name), warm, \(decisions) decisions over infrastructure and canary_safety): "
            + "p50 \(ms(figures.p50)), p99 \(ms(figures.p99)), max \(ms(figures.max)), \(Int(figures.perSecond)) decisions/s")
        return figures
    }
}
