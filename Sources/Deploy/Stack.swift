import Foundation
import Manifest
import Policy
import Render
import Runtime
import Telemetry
import Vocabulary
import Web

/// The running stack of one manifest and the lifecycle commands that change it: deploy, canary
/// start, promote, rollback, chaos, teardown. Every change is a zero-downtime move (launch the new
/// instance, route nginx to it, then retire the old one), gated by policy and written to history.
public struct Stack: Sendable {
    public let project: Project
    public let console: any Console
    public let engine: any PolicyEngine
    public let runtime: any Runtime
    public let history: History

    public init(project: Project, console: any Console = TerminalConsole(), engine: (any PolicyEngine)? = nil) {
        self.project = project
        self.console = console
        self.engine = engine ?? PolicySetup(manifest: project.manifest).engine()
        runtime = project.runtime
        history = History(stateDirectory: project.manifest.stateDirectory, notices: LifecycleNotices(manifest: project.manifest))
    }

    var manifest: Manifest { project.manifest }
    var hooks: Hooks { Hooks(manifest: manifest, console: console, history: history) }
    /// The releases that became stable, for `releases` and `rollback --to`.
    public var releases: Releases { Releases(stateDirectory: manifest.stateDirectory) }
    var gate: PolicyGate { PolicyGate(engine: engine, console: console, history: history) }

    func hostInput() -> JSONValue { HostProbe().read(diskPath: manifest.stateDirectory).input }

    /// `deploy`: generate, gate on the host, then start (or replace) the stable track behind nginx;
    /// `release` starts a kept release instead of the manifest's (`rollback --to`).
    @discardableResult
    public func deploy(force: Bool = false, release: Release? = nil) async throws -> String {
        let started = ContinuousClock.now
        var spec = release?.spec ?? TrackSpec.stable(manifest)
        spec.ports = TrackSpec.slots(manifest.service.port)
        console.say("deploy: \(manifest.name) \(spec.version)" + (release.map { " (release \($0.number) of \(ISO8601.format(Int($0.at.timeIntervalSince1970))))" } ?? ""))
        let written = try InitUseCase(project: project, console: console).run(out: nil)
        try history.record(.initialise, ["files": .array(written.map { .string($0.path) })])
        console.say("  runtime \(try runtime.summary())")
        try await gate.require(.infrastructure, input: hostInput(), force: force)
        let before = try runtime.state()
        try await hooks.run(.preDeploy, version: spec.version, previous: before.tracks[.stable]?.version, url: runtime.publicURL)
        let instance = try await runtime.launch(.stable, spec)
        console.say("  stable  \(manifest.service.name) \(instance.version) healthy on \(instance.address) (\(instance.instance))")
        do {
            try await runtime.route(Routing(stablePort: instance.port, canary: before.routing?.canary))
        } catch {
            await runtime.retire(instance)
            throw error
        }
        try runtime.update { $0.tracks[.stable] = instance }
        if let old = before.tracks[.stable] {
            await runtime.retire(old)
            console.say("  replaced \(old.version) (\(old.instance), port \(old.port)) after nginx drained it")
        }
        try await HealthWait.until200("\(runtime.publicURL)\(manifest.service.healthcheck.path)", timeout: manifest.service.healthcheck.timeout,
                                      client: runtime.edgeClient)
        let elapsed = ContinuousClock.now - started
        try history.record(.deploy, [
            "version": .string(instance.version), "port": .number(Double(instance.port)), "instance": .string(instance.instance.description),
            "replaced": before.tracks[.stable].map { .string($0.version) } ?? .null, "forced": .bool(force),
            "seconds": .number((elapsed.seconds * 1000).rounded() / 1000),
            "release": .number(Double(try releases.record(spec, via: release == nil ? "deploy" : "rollback --to", project: project).number)),
        ])
        console.say("ready: \(runtime.publicURL) (stable \(instance.version), \(String(format: "%.2f", elapsed.seconds)) s)")
        try await hooks.run(.postDeploy, version: instance.version, previous: before.tracks[.stable]?.version, url: runtime.publicURL)
        return runtime.publicURL
    }

    /// `canary start`: a canary beside stable taking `weight`% of requests.
    public func startCanary(weight: Int?, command: [String]?, image: String?, force: Bool = false) async throws {
        let state = try runtime.state()
        guard let stable = state.tracks[.stable], state.routing != nil else {
            throw LifecycleError("no stable track runs for \(manifest.name); run `swiftdeploy deploy` first")
        }
        if let running = state.tracks[.canary] {
            throw LifecycleError("a canary (\(running.version), \(running.instance)) already runs; `swiftdeploy promote` or `swiftdeploy rollback` first")
        }
        guard var spec = TrackSpec.canary(manifest) ?? command.map({ TrackSpec(command: $0, image: image, ports: TrackSpec.slots(manifest.service.port + 1), version: "canary", env: manifest.service.env) }) else {
            throw LifecycleError("\(manifest.file): services.\(manifest.service.name).canary is not configured; add one, or pass --command")
        }
        if let command { spec.command = command }
        if let image { spec.image = image }
        let share = weight ?? manifest.service.canary?.weight ?? 10
        guard (0...100).contains(share) else { throw LifecycleError("--weight must be 0-100, got \(share)") }
        console.say("canary: starting \(spec.version) beside stable \(stable.version) with \(share)% of requests")
        try await gate.require(.infrastructure, input: hostInput(), force: force)
        let instance = try await runtime.launch(.canary, spec)
        do {
            try await runtime.route(Routing(stablePort: stable.port, canary: .init(port: instance.port, weight: share)))
        } catch {
            await runtime.retire(instance)
            throw error
        }
        try runtime.update { $0.tracks[.canary] = instance }
        try history.record(.canaryStart, ["version": .string(instance.version), "weight": .number(Double(share)),
                                            "port": .number(Double(instance.port)), "instance": .string(instance.instance.description)])
        console.say("  canary  \(instance.version) healthy on \(instance.address) (\(instance.instance)), \(share)% of \(runtime.publicURL)")
    }

    /// The canary_safety input from the canary's live traffic (the access log and its /metrics);
    /// Prometheus metrics are measured since `since` (a scrape at the start of the interval).
    public func canaryInput(since: CanaryAnalysis.Scrape? = nil) async throws -> (input: JSONValue, scrape: CanaryAnalysis.Scrape) {
        let state = try runtime.state()
        guard let canary = state.tracks[.canary] else { throw LifecycleError("no canary runs; start one with `swiftdeploy canary start`") }
        return await CanaryAnalysis(manifest: manifest).canaryInput(address: canary.address, since: since,
                                                                    probe: min(manifest.policy.canarySafety.interval, .seconds(5)))
    }

    /// The canary_safety decision on the canary's live traffic.
    public func analyseCanary(since: CanaryAnalysis.Scrape? = nil) async throws -> (decision: Decision, input: JSONValue, scrape: CanaryAnalysis.Scrape) {
        let (input, scrape) = try await canaryInput(since: since)
        return (await engine.decide(.canarySafety, input: input), input, scrape)
    }

    /// `promote`: the canary is checked as Flagger does: every `interval` (the manifest's unless
    /// given), `iterations` passing checks in a row move it on, and `threshold` failed checks over
    /// the whole promotion stop it. With `steps` it takes each weight in turn and a stop rolls the
    /// traffic back; without, it is judged at its weight now (the first check at once) and a stop
    /// changes nothing. Once through, the canary's release becomes stable.
    public func promote(steps: [Int], interval: Duration? = nil, force: Bool) async throws {
        let limits = manifest.policy.canarySafety
        let interval = interval ?? limits.interval
        let state = try runtime.state()
        guard let canary = state.tracks[.canary], let stable = state.tracks[.stable] else {
            throw LifecycleError("no canary runs for \(manifest.name); start one with `swiftdeploy canary start`")
        }
        try await hooks.run(.prePromote, version: canary.version, previous: stable.version, url: runtime.publicURL)
        let rule = "a check every \(interval.manifestText); \(limits.iterations) passing in a row go on, \(limits.threshold) failed roll\(limits.threshold == 1 ? "s" : "") back"
        var analysis = Analysis(canary: canary, interval: interval, force: force)
        for (index, weight) in steps.enumerated() {
            try await runtime.route(Routing(stablePort: stable.port, canary: .init(port: canary.port, weight: weight)))
            try history.record(.promoteStep, ["weight": .number(Double(weight)), "step": .number(Double(index + 1))])
            console.say("promote: step \(index + 1)/\(steps.count): canary takes \(weight)% (\(rule))")
            do {
                try await analyse(&analysis, step: index + 1, of: steps.count, weight: weight, checkAtOnce: false)
            } catch let blocked as PolicyBlocked {
                console.warn("promote: rolling back at \(weight)%")
                try await rollback(reason: "canary_safety denied at \(weight)% (\(analysis.failures) failed check\(analysis.failures == 1 ? "" : "s"))")
                throw blocked
            }
        }
        if steps.isEmpty {
            if limits.iterations > 1 || limits.threshold > 1 { console.say("promote: \(rule)") }
            try await analyse(&analysis, step: 1, of: 1, weight: state.routing?.canary?.weight ?? 0, checkAtOnce: true)
        }
        // The canary's release becomes stable: started in stable mode on stable's other slot.
        var spec = canary.spec
        let slots = TrackSpec.slots(manifest.service.port)
        spec.ports = slots.filter { $0 != stable.port } + slots.filter { $0 == stable.port }
        let promoted = try await runtime.launch(.stable, spec)
        try await runtime.route(Routing(stablePort: promoted.port))
        try runtime.update { state in
            state.tracks[.stable] = promoted
            state.tracks[.canary] = nil
        }
        await runtime.retire(canary)
        await runtime.retire(stable)
        let release = try releases.record(promoted.spec, via: "promote", project: project)
        try history.record(.promote, ["from": .string(stable.version), "to": .string(promoted.version), "forced": .bool(force),
                                       "steps": .array(steps.map { .number(Double($0)) }), "release": .number(Double(release.number)),
                                       "checks": .number(Double(analysis.checks)), "failed_checks": .number(Double(analysis.failures))])
        console.say("promote: \(promoted.version) is stable (\(promoted.instance), port \(promoted.port)); \(stable.version) retired")
        if promoted.version != manifest.service.version {
            console.say("  note: set services.\(manifest.service.name).version to \(promoted.version) in \(manifest.file) so the next deploy keeps it")
        }
        try await hooks.run(.postPromote, version: promoted.version, previous: stable.version, url: runtime.publicURL)
    }

    /// What one promotion has seen so far: failed checks count over all its steps.
    struct Analysis {
        let canary: StackState.TrackRecord
        let interval: Duration
        let force: Bool
        var checks = 0
        var failures = 0
    }

    /// Checks the canary every interval until `iterations` checks in a row pass. Each failed check
    /// counts towards `threshold`; reaching it throws PolicyBlocked. A check without enough traffic
    /// is inconclusive: it waits (see `conclusive`) and counts neither way until the deadline.
    private func analyse(_ analysis: inout Analysis, step: Int, of steps: Int, weight: Int, checkAtOnce: Bool) async throws {
        let limits = manifest.policy.canarySafety
        var passed = 0
        var since: CanaryAnalysis.Scrape?
        while passed < limits.iterations {
            if !(checkAtOnce && analysis.checks == 0) {
                since = await CanaryAnalysis.scrape(analysis.canary.address)  // the interval's Prometheus figures start here
                try await Task.sleep(for: analysis.interval)
            }
            // A single promote judges what the canary has had; a step waits for enough traffic.
            let decision: Decision, input: JSONValue
            if checkAtOnce {
                (decision, input, _) = try await analyseCanary(since: since)
            } else {
                (decision, input) = try await conclusive(step: step, of: steps, weight: weight, since: since)
            }
            analysis.checks += 1
            try history.record(decision, input: input, forced: analysis.force && !decision.allow)
            PolicyReport.lines(decision, input: input).forEach { decision.allow ? console.say("  \($0)") : console.warn("  \($0)") }
            if decision.allow || analysis.force {
                if !decision.allow { console.warn("WARNING: --force: counting a denied check as passed (recorded in history as forced)") }
                passed += 1
                if limits.iterations > 1 { console.say("  check \(passed) of \(limits.iterations) in a row passed") }
                continue
            }
            analysis.failures += 1
            passed = 0
            guard analysis.failures < limits.threshold else { throw PolicyBlocked(decision: decision) }
            console.warn("  check failed: \(analysis.failures) of \(limits.threshold) failed checks allowed; checking again in \(analysis.interval.manifestText)")
        }
    }

    /// A check's analysis once the canary has had `min_requests` in the window: until then the step
    /// is inconclusive (neither passed nor failed), says so, and waits up to `canary_safety.deadline`;
    /// past it the analysis as it stands decides (too few requests: a deny).
    private func conclusive(step: Int, of steps: Int, weight: Int, since: CanaryAnalysis.Scrape?) async throws -> (decision: Decision, input: JSONValue) {
        let limits = manifest.policy.canarySafety
        let deadline = ContinuousClock.now + limits.deadline
        var lastSaid: ContinuousClock.Instant?
        while true {
            let analysed = try await analyseCanary(since: since)
            let requests = Int(analysed.input["requests"]?.number ?? 0)
            guard requests < limits.minRequests, ContinuousClock.now < deadline else { return (analysed.decision, analysed.input) }
            if lastSaid.map({ ContinuousClock.now - $0 >= .seconds(5) }) ?? true {
                let left = deadline - ContinuousClock.now
                console.say("promote: step \(step)/\(steps) at \(weight)%: inconclusive, \(requests) of \(limits.minRequests) requests in the last \(limits.window.manifestText); waiting for traffic (at most \(Duration.seconds(Int(left.seconds.rounded())).readable) more)")
                if lastSaid == nil {
                    try history.record(.promoteStep, ["weight": .number(Double(weight)), "step": .number(Double(step)), "inconclusive": .bool(true),
                                                      "requests": .number(Double(requests))])
                }
                lastSaid = ContinuousClock.now
            }
            try await Task.sleep(for: .seconds(1))
        }
    }

    /// `rollback`: always allowed; all traffic to stable and the canary stopped.
    public func rollback(reason: String = "requested", hook: Bool = true) async throws {
        let state = try runtime.state()
        guard let stable = state.tracks[.stable] else { throw LifecycleError("no stable track runs; nothing to roll back to") }
        try await runtime.route(Routing(stablePort: stable.port))
        guard let canary = state.tracks[.canary] else {
            console.say("rollback: no canary runs; all traffic already goes to stable \(stable.version)")
            try history.record(.rollback, ["canary": .null, "reason": .string(reason)])
            return
        }
        try runtime.update { $0.tracks[.canary] = nil }
        await runtime.retire(canary)
        try history.record(.rollback, ["canary": .string(canary.version), "stable": .string(stable.version), "reason": .string(reason)])
        console.say("rollback: all traffic to stable \(stable.version); canary \(canary.version) stopped")
        if hook { try await hooks.run(.onRollback, version: stable.version, previous: canary.version, url: runtime.publicURL) }
    }

    /// `rollback --to VERSION`: the newest kept release of that version becomes stable again, through
    /// the same gate and the same zero-downtime move as a deploy (a running canary is stopped first).
    public func rollback(to version: String, force: Bool) async throws {
        let release = try releases.newest(version)
        let before = try runtime.state().tracks[.stable]?.version
        if try runtime.state().tracks[.canary] != nil { try await rollback(reason: "rollback --to \(version)", hook: false) }
        try await deploy(force: force, release: release)
        try await hooks.run(.onRollback, version: release.version, previous: before, url: runtime.publicURL)
    }

    /// `chaos`: tells a running demo instance to misbehave (or recover).
    public func chaos(_ body: JSONValue, track: Track) async throws {
        let state = try runtime.state()
        guard let instance = state.tracks[track] else { throw LifecycleError("no \(track) track runs") }
        let response = try await HTTP.post("http://\(instance.address)/chaos", json: body.description)
        try history.record(.chaos, ["track": .string(track.rawValue), "request": body, "status": .number(Double(response.status))])
        guard response.status == 200 else {
            throw LifecycleError("the \(track) instance refused chaos (HTTP \(response.status)): \(response.text)")
        }
        console.say("chaos: \(track) \(instance.version): \(response.text)")
    }

    /// `teardown`: stop everything; `clean` also removes the generated files and the state directory.
    public func teardown(clean: Bool) async throws {
        try await runtime.teardown()
        console.say("teardown: stopped nginx and every track of \(manifest.name)")
        if clean {
            for name in GeneratedFiles.names {
                try? FileManager.default.removeItem(atPath: (manifest.directory as NSString).appendingPathComponent(name))
            }
            try? FileManager.default.removeItem(atPath: manifest.stateDirectory)
            console.say("teardown: removed the generated files and \(manifest.stateDirectory)")
        } else {
            try history.record(.teardown)
        }
    }
}

/// A lifecycle step that cannot happen in the stack's current state; says what to do instead.
public struct LifecycleError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
