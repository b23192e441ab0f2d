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
    /// What a promotion waits on between checks.
    public let clock: any WaitingClock
    /// Where a promotion reads the canary's figures.
    public let evidence: any CanaryEvidence

    /// The manifest's own runtime, policy engine, the system clock and the edge log, unless given
    /// (tests give fakes for each seam).
    public init(project: Project, console: any Console = TerminalConsole(), engine: (any PolicyEngine)? = nil,
                runtime: (any Runtime)? = nil, clock: any WaitingClock = SystemClock(), evidence: (any CanaryEvidence)? = nil) {
        self.project = project
        self.console = console
        self.engine = engine ?? PolicySetup(manifest: project.manifest).engine()
        let runtime = runtime ?? project.runtime
        self.runtime = runtime
        self.clock = clock
        self.evidence = evidence ?? CanaryAnalysis(manifest: project.manifest, accessLog: runtime.accessLog)
        history = History(stateDirectory: project.manifest.stateDirectory, notices: LifecycleNotices(manifest: project.manifest))
    }

    var manifest: Manifest { project.manifest }
    var hooks: Hooks { Hooks(manifest: manifest, console: console, history: history) }
    /// The releases that became stable, for `releases` and `rollback --to`.
    public var releases: Releases { Releases(stateDirectory: manifest.stateDirectory) }
    var gate: PolicyGate { PolicyGate(engine: engine, console: console, history: history) }

    func hostInput() -> JSONValue { HostProbe().read(diskPath: manifest.stateDirectory).input }

    /// Starts `spec` for `track`, saying first what it waits for: a health wait can take its whole timeout.
    func launch(_ track: Track, _ spec: TrackSpec) async throws -> StackState.TrackRecord {
        let health = manifest.service.healthcheck
        console.say("  \(track.rawValue) starting \(spec.version); waiting up to \(health.timeout.manifestText) for \(health.path) to answer 200")
        return try await runtime.launch(track, spec)
    }

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
        let host = try await gate.require(.infrastructure, input: hostInput(), force: force)
        let before = try runtime.state()
        try await hooks.run(.preDeploy, version: spec.version, previous: before.tracks[.stable]?.version, url: runtime.publicURL)
        let instance = try await launch(.stable, spec)
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
            "replaced": before.tracks[.stable].map { .string($0.version) } ?? .null,
            "seconds": .number((elapsed.seconds * 1000).rounded() / 1000),
            "release": .number(Double(try releases.record(spec, via: release == nil ? "deploy" : "rollback --to", project: project).number)),
        ], forced: !host.allow)
        console.say("ready: \(runtime.publicURL) (stable \(instance.version), \(String(format: "%.2f", elapsed.seconds)) s)")
        try await hooks.run(.postDeploy, version: instance.version, previous: before.tracks[.stable]?.version, url: runtime.publicURL)
        return runtime.publicURL
    }

    /// `canary start`: a canary beside stable taking `weight`% of requests.
    /// `version` labels an ad-hoc canary (`--command`/`--image`), so two different ones are told apart.
    public func startCanary(weight: Int?, command: [String]?, image: String?, version: String? = nil, force: Bool = false) async throws {
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
        if let version { spec.version = version }
        let share = weight ?? manifest.service.canary?.weight ?? 10
        guard (0...100).contains(share) else { throw LifecycleError("--weight must be 0-100, got \(share)") }
        console.say("canary: starting \(spec.version) beside stable \(stable.version) with \(share)% of requests")
        try await gate.require(.infrastructure, input: hostInput(), force: force)
        let instance = try await launch(.canary, spec)
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
        guard let canary = try runtime.state().tracks[.canary] else { throw LifecycleError("no canary runs; start one with `swiftdeploy canary start`") }
        return await evidence.input(canary, since: since)
    }

    /// `rollback`: always allowed; all traffic to stable and the canary stopped.
    public func rollback(reason: String = "requested", hook: Bool = true) async throws {
        let state = try runtime.state()
        guard let stable = state.tracks[.stable] else { throw LifecycleError("no stable track runs; nothing to roll back to") }
        try await runtime.route(Routing(stablePort: stable.port))
        guard let canary = state.tracks[.canary] else {
            let earlier = (try? releases.all())?.last { !$0.starts(stable.spec) && $0.version != stable.version }
            console.say("rollback: no canary runs; all traffic already goes to stable \(stable.version)"
                + (earlier.map { "; to go back to the release before it, `swiftdeploy rollback --to \($0.version)`" } ?? ""))
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

    /// `teardown`: stop everything; `clean` also removes the generated files and the state directory,
    /// keeping history and the releases unless `keepHistory` is false.
    public func teardown(clean: Bool, keepHistory: Bool = true) async throws {
        try await runtime.teardown()
        console.say("teardown: stopped nginx and every track of \(manifest.name)")
        if clean {
            for name in GeneratedFiles.names {
                try? FileManager.default.removeItem(atPath: (manifest.directory as NSString).appendingPathComponent(name))
            }
            let kept = keepHistory ? [(history.path as NSString).lastPathComponent, (releases.path as NSString).lastPathComponent] : []
            for name in (try? FileManager.default.contentsOfDirectory(atPath: manifest.stateDirectory)) ?? [] where !kept.contains(name) {
                try? FileManager.default.removeItem(atPath: "\(manifest.stateDirectory)/\(name)")
            }
            if !keepHistory { try? FileManager.default.removeItem(atPath: manifest.stateDirectory) }
            console.say("teardown: removed the generated files and \(manifest.stateDirectory)"
                + (keepHistory ? ", but for its history and releases (--forget-history removes them too)" : ""))
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
