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
            return try await Stack(project: project, console: console, engine: engine).canaryInput()
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

/// `swiftdeploy policy test`: runs the `test_*` rules in the policy directory.
public struct PolicyTestUseCase: Sendable {
    public let project: Project
    public let console: any Console

    public init(project: Project, console: any Console = TerminalConsole()) {
        self.project = project
        self.console = console
    }

    /// Returns true when every test passed (and there was at least one).
    public func run() -> Bool {
        let setup = PolicySetup(manifest: project.manifest)
        let results = PolicyTestRunner.run(modules: PolicyFiles.load(directory: setup.directory), data: setup.data)
        for result in results {
            console.say("\(result.passed ? "PASS" : "FAIL") \((result.file as NSString).lastPathComponent): \(result.rule)\(result.detail.isEmpty ? "" : " (\(result.detail))")")
        }
        let failed = results.filter { !$0.passed }.count
        console.say("\(results.count - failed) passed, \(failed) failed")
        if results.isEmpty { console.warn("no test_ rules found in \(setup.directory)") }
        return failed == 0 && !results.isEmpty
    }
}

/// `swiftdeploy policy bench`: warm decision latency of the configured engine on the default
/// policies' inputs (p50, p99, max) and decisions per second.
public struct PolicyBenchUseCase: Sendable {
    public struct Figures: Sendable {
        public let decisions: Int
        public let p50: Duration
        public let p99: Duration
        public let max: Duration
        public let perSecond: Double
    }

    public let engine: any PolicyEngine
    public let console: any Console

    public init(project: Project, console: any Console = TerminalConsole()) {
        engine = PolicySetup(manifest: project.manifest).engine()
        self.console = console
    }

    public func run(decisions: Int) async -> Figures {
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
            decisions: decisions, p50: latencies[latencies.count / 2],
            p99: latencies[min(latencies.count - 1, Int(Double(latencies.count) * 0.99))], max: latencies.last ?? .zero,
            perSecond: Double(decisions) / elapsed.seconds)
        func ms(_ duration: Duration) -> String { String(format: "%.3f ms", duration.seconds * 1000) }
        console.say("policy bench (\(engine.name), warm, \(decisions) decisions over infrastructure and canary_safety): "
            + "p50 \(ms(figures.p50)), p99 \(ms(figures.p99)), max \(ms(figures.max)), \(Int(figures.perSecond)) decisions/s")
        return figures
    }
}
