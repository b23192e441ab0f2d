import Foundation
import Manifest
import Policy
import Render
import Runtime
import Vocabulary

extension Stack {
    /// `promote`: the canary is checked as Flagger does: every `interval` (the manifest's unless
    /// given), `iterations` passing checks in a row move it on, and `threshold` failed checks over
    /// the whole promotion stop it (`PromotionAnalysis` keeps the count). With `steps` it takes each
    /// weight in turn and a stop rolls the traffic back; without, it is judged at its weight now (the
    /// first check at once) and a stop changes nothing. Once through, the canary's release becomes
    /// stable. Cancelled (Ctrl-C) mid-steps, the traffic goes back to the split it had before.
    public func promote(steps: [Int], interval: Duration? = nil, force: Bool) async throws {
        let limits = manifest.policy.canarySafety
        let interval = interval ?? limits.interval
        let state = try runtime.state()
        guard let canary = state.tracks[.canary], let stable = state.tracks[.stable] else {
            throw LifecycleError("no canary runs for \(manifest.name); start one with `swiftdeploy canary start`")
        }
        try await hooks.run(.prePromote, version: canary.version, previous: stable.version, url: runtime.publicURL)
        let rule = "a check every \(interval.manifestText); \(limits.iterations) passing in a row go on, \(limits.threshold) failed roll\(limits.threshold == 1 ? "s" : "") back"
        var analysis = PromotionAnalysis(limits, force: force)
        do {
            for (index, weight) in steps.enumerated() {
                try await runtime.route(Routing(stablePort: stable.port, canary: .init(port: canary.port, weight: weight)))
                analysis.begin(step: index + 1, weight: weight, waitsForTraffic: true)
                try history.record(.promoteStep, ["weight": .number(Double(weight)), "step": .number(Double(index + 1))])
                console.say("promote: step \(index + 1)/\(steps.count): canary takes \(weight)% (\(rule))")
                do {
                    try await analyse(&analysis, canary: canary, interval: interval, steps: steps.count, checkAtOnce: false)
                } catch let blocked as PolicyBlocked {
                    console.warn("promote: rolling back at \(weight)%")
                    try await rollback(reason: "canary_safety denied at \(weight)% (\(analysis.failures) failed check\(analysis.failures == 1 ? "" : "s"))")
                    throw blocked
                }
            }
        } catch is CancellationError {
            throw try await interrupted(analysis, restoring: state.routing)
        }
        if steps.isEmpty {
            if limits.iterations > 1 || limits.threshold > 1 { console.say("promote: \(rule)") }
            analysis.begin(step: 1, weight: state.routing?.canary?.weight ?? 0, waitsForTraffic: false)
            try await analyse(&analysis, canary: canary, interval: interval, steps: 1, checkAtOnce: true)
        }
        // The canary's release becomes stable: started in stable mode on stable's other slot.
        var spec = canary.spec
        let slots = TrackSpec.slots(manifest.service.port)
        spec.ports = slots.filter { $0 != stable.port } + slots.filter { $0 == stable.port }
        let promoted = try await launch(.stable, spec)
        try await runtime.route(Routing(stablePort: promoted.port))
        try runtime.update { state in
            state.tracks[.stable] = promoted
            state.tracks[.canary] = nil
        }
        await runtime.retire(canary)
        await runtime.retire(stable)
        let release = try releases.record(promoted.spec, via: "promote", project: project)
        try history.record(.promote, analysis.record.merging([
            "from": .string(stable.version), "to": .string(promoted.version),
            "steps": .array(steps.map { .number(Double($0)) }), "release": .number(Double(release.number)),
        ]) { $1 }, forced: analysis.forcedChecks > 0)
        console.say("promote: \(promoted.version) is stable (\(promoted.instance), port \(promoted.port)); \(stable.version) retired")
        if promoted.version != manifest.service.version {
            console.say("  note: set services.\(manifest.service.name).version to \(promoted.version) in \(manifest.file) so the next deploy keeps it")
        }
        try await hooks.run(.postPromote, version: promoted.version, previous: stable.version, url: runtime.publicURL)
    }

    /// Checks the canary every interval until its step passes; `threshold` failed checks throw
    /// `PolicyBlocked`. The first check of a single promote comes at once.
    private func analyse(_ analysis: inout PromotionAnalysis, canary: StackState.TrackRecord, interval: Duration, steps: Int, checkAtOnce: Bool) async throws {
        var atOnce = checkAtOnce
        while true {
            var since: CanaryAnalysis.Scrape?
            if !atOnce {
                since = await evidence.scrape(canary)  // the interval's Prometheus figures start here
                try await clock.sleep(for: interval)
            }
            atOnce = false
            let decision = try await check(&analysis, canary: canary, since: since, steps: steps)
            switch analysis.judge(allowed: decision.allow) {
            case .passed(let inRow):
                if analysis.iterations > 1 { console.say("  check \(inRow) of \(analysis.iterations) in a row passed") }
            case .stepPassed:
                if analysis.iterations > 1 { console.say("  check \(analysis.iterations) of \(analysis.iterations) in a row passed") }
                return
            case .failed(let failures):
                console.warn("  check failed: \(failures) of \(analysis.threshold) failed checks allowed; checking again in \(interval.manifestText)")
            case .blocked:
                throw PolicyBlocked(decision: decision)
            }
        }
    }

    /// One check's decision: a stepped promotion first waits (a second at a time, saying so every 5 s)
    /// until the canary has had `min_requests` in the window or the deadline passes; then the policy
    /// decides, through the gate, on the canary's figures as they stand.
    private func check(_ analysis: inout PromotionAnalysis, canary: StackState.TrackRecord, since: CanaryAnalysis.Scrape?, steps: Int) async throws -> Decision {
        let started = clock.now
        var lastSaid: ContinuousClock.Instant?
        while true {
            let (input, _) = await evidence.input(canary, since: since)
            let requests = Int(input["requests"]?.number ?? 0)
            guard let wait = analysis.awaitTraffic(requests: requests, waited: clock.now - started) else {
                return try await gate.check(.canarySafety, input: input, force: analysis.force, forcedMeans: "counting a denied check as passed")
            }
            if wait.first {
                try history.record(.promoteStep, ["weight": .number(Double(analysis.weight)), "step": .number(Double(analysis.step)),
                                                  "inconclusive": .bool(true), "requests": .number(Double(requests))])
            }
            if lastSaid.map({ clock.now - $0 >= .seconds(5) }) ?? true {
                let left = analysis.deadline - (clock.now - started)
                console.say("promote: step \(analysis.step)/\(steps) at \(analysis.weight)%: inconclusive, \(requests) of \(analysis.minRequests) requests in the last \(manifest.policy.canarySafety.window.manifestText); waiting for traffic (at most \(Duration.seconds(Int(left.seconds.rounded())).readable) more)")
                lastSaid = clock.now
            }
            try await clock.sleep(for: .seconds(1))
        }
    }

    /// A stepped promotion was cancelled: the traffic goes back to the split it had before it began
    /// (the canary keeps running, so nothing the operator did before `promote` is undone), history
    /// records `promote_aborted`, and the error tells the operator.
    private func interrupted(_ analysis: PromotionAnalysis, restoring routing: Routing?) async throws -> PromotionInterrupted {
        let back = routing?.canary?.weight ?? 0
        // The cancelled task's waits would end at once: the restore runs in a task of its own.
        let runtime = runtime
        if let routing { try await Task { try await runtime.route(routing) }.value }
        try history.record(.promoteAborted, analysis.record.merging([
            "weight": .number(Double(back)), "step": .number(Double(analysis.step)), "step_weight": .number(Double(analysis.weight)),
        ]) { $1 })
        console.warn("promote: interrupted at step \(analysis.step) (\(analysis.weight)%); the canary is back to \(back)% of requests")
        return PromotionInterrupted(step: analysis.step, weight: analysis.weight, restoredWeight: back)
    }
}

/// A promotion stopped by the operator (Ctrl-C) before it finished.
public struct PromotionInterrupted: Error, CustomStringConvertible {
    public let step: Int
    public let weight: Int
    public let restoredWeight: Int
    public var description: String {
        "promote: interrupted at step \(step) (\(weight)%); the canary runs at \(restoredWeight)% again: `swiftdeploy promote` starts the promotion over, `swiftdeploy rollback` stops the canary"
    }
}
