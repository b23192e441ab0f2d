import Foundation
import Manifest
import Policy
import Runtime
import Telemetry

/// `swiftdeploy deploy`: bring the stable track up behind nginx and wait until it answers through nginx.
public struct DeployUseCase: Sendable {
    public let project: Project
    public let console: any Console
    public let engine: any PolicyEngine

    public init(project: Project, console: any Console = TerminalConsole(), engine: (any PolicyEngine)? = nil) {
        self.project = project
        self.console = console
        self.engine = engine ?? PolicySetup(manifest: project.manifest).engine()
    }

    /// Returns the URL the stack answers on.
    @discardableResult
    public func run(force: Bool = false) async throws -> String {
        let manifest = project.manifest
        let runtime = project.runtime
        console.say("deploy: \(manifest.name) \(manifest.service.version) (runtime \(manifest.runtime.rawValue))")
        try InitUseCase(project: project, console: console).run(out: nil)
        try await PolicyGate(engine: engine, console: console).require(
            .infrastructure, input: HostProbe().read(diskPath: manifest.stateDirectory).input, force: force)
        let record = try await runtime.start(.stable)
        console.say("  stable  \(manifest.service.name) \(record.version) healthy on 127.0.0.1:\(record.port) (pid \(record.pid), log \(record.log))")
        let current = try runtime.state()
        try await runtime.route(canaryWeight: current.tracks[.canary] != nil ? current.canaryWeight : nil)
        let url = project.localRuntime.publicURL
        try await HealthWait.until200("\(url)\(manifest.service.healthcheck.path)", timeout: manifest.service.healthcheck.timeout)
        console.say("  nginx   \(url) (access log \(manifest.guardSettings.log))")
        console.say("ready: open \(url)")
        return url
    }
}

/// Asks a policy before a risky step: a deny (or no answer) stops the step unless forced, and a
/// forced step says so loudly.
public struct PolicyGate: Sendable {
    public let engine: any PolicyEngine
    public let console: any Console

    /// Returns the decision when the step may go ahead; throws `PolicyBlocked` when it may not.
    @discardableResult
    public func require(_ policy: PolicyName, input: JSONValue, force: Bool) async throws -> Decision {
        let decision = await engine.decide(policy, input: input)
        let report = PolicyReport.lines(decision, input: input)
        if decision.allow {
            report.forEach { console.say("  \($0)") }
            return decision
        }
        if force {
            report.forEach { console.warn("  \($0)") }
            console.warn("WARNING: --force: going ahead although \(policy.rawValue) denies")
            return decision
        }
        report.forEach { console.warn("  \($0)") }
        throw PolicyBlocked(decision: decision)
    }
}

/// A policy said no (or could not answer, which is also no).
public struct PolicyBlocked: Error, CustomStringConvertible {
    public let decision: Decision
    public var description: String {
        decision.unanswered != nil
            ? "\(decision.policy.rawValue): the policy engine could not answer, so the answer is no (--force overrides)"
            : "\(decision.policy.rawValue) denies: \(decision.violations.map(\.message).joined(separator: "; ")) (--force overrides)"
    }
}

/// `swiftdeploy teardown`: stop nginx and every track; `--clean` also removes the state directory.
public struct TeardownUseCase: Sendable {
    public let project: Project
    public let console: any Console

    public init(project: Project, console: any Console = TerminalConsole()) {
        self.project = project
        self.console = console
    }

    public func run(clean: Bool) async throws {
        try await project.runtime.teardown()
        console.say("teardown: stopped nginx and all tracks of \(project.manifest.name)")
        if clean {
            try? FileManager.default.removeItem(atPath: project.manifest.stateDirectory)
            console.say("teardown: removed \(project.manifest.stateDirectory)")
        }
    }
}
