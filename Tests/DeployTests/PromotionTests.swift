import Foundation
import Manifest
import Policy
import Render
import Runtime
import Synchronization
import Telemetry
import TestSupport
import Testing
import Vocabulary

@testable import Deploy

/// Every branch of a promotion through its seams, in milliseconds: a fake runtime, a scripted
/// policy engine, a clock that moves when slept on and scripted canary traffic. The end-to-end
/// suites prove the same code on real processes, containers and nginx.
@Suite struct Promotion {
    /// The value alone: waits until the deadline, passes in a row per step, failures over the promotion.
    @Test func theAnalysisCountsPassesPerStepAndFailuresOverThePromotion() {
        var analysis = PromotionAnalysis(iterations: 2, threshold: 2, minRequests: 10, deadline: .seconds(5), force: false)
        analysis.begin(step: 1, weight: 10, waitsForTraffic: true)
        #expect(analysis.awaitTraffic(requests: 3, waited: .zero) == .init(requests: 3, first: true))
        #expect(analysis.awaitTraffic(requests: 4, waited: .seconds(4)) == .init(requests: 4, first: false))
        #expect(analysis.phase == .inconclusive && analysis.checks == 0)
        #expect(analysis.awaitTraffic(requests: 4, waited: .seconds(5)) == nil, "past the deadline it is judged as it stands")
        #expect(analysis.awaitTraffic(requests: 10, waited: .zero) == nil)
        #expect(analysis.judge(allowed: true) == .passed(inRow: 1))
        #expect(analysis.judge(allowed: false) == .failed(failures: 1))
        #expect(analysis.judge(allowed: true) == .passed(inRow: 1), "a failure starts the run again")
        #expect(analysis.judge(allowed: true) == .stepPassed)
        analysis.begin(step: 2, weight: 50, waitsForTraffic: true)
        #expect(analysis.judge(allowed: true) == .passed(inRow: 1), "passes in a row do not carry over to the next step")
        #expect(analysis.judge(allowed: false) == .blocked, "failures do")
        #expect(analysis.phase == .blocked && analysis.checks == 6 && analysis.failures == 2)
        var single = PromotionAnalysis(iterations: 1, threshold: 1, minRequests: 10, deadline: .seconds(5), force: true)
        single.begin(step: 1, weight: 10, waitsForTraffic: false)
        #expect(single.awaitTraffic(requests: 0, waited: .zero) == nil, "a single promote judges what the canary has had")
        #expect(single.judge(allowed: false) == .stepPassed && single.forcedChecks == 1 && single.failures == 0)
    }

    @Test func aSinglePromoteJudgesAtOnceAndMakesTheCanaryStable() async throws {
        let bench = try await PromotionBench(answers: [.allow])
        try await bench.stack.promote(steps: [], force: false)
        #expect(bench.clock.slept.isEmpty, "a single promote's first check comes at once")
        #expect(bench.runtime.calls.suffix(4) == [
            .launch(.stable, version: "2.0.0", port: 14000), .route(Routing(stablePort: 14000)),
            .retire(version: "2.0.0"), .retire(version: "1.0.0"),
        ])
        let state = try bench.runtime.state()
        #expect(state.tracks[.stable]?.version == "2.0.0" && state.tracks[.canary] == nil)
        #expect(bench.last(.promote)?["checks"] == 1 && bench.last(.promote)?["failed_checks"] == 0)
        #expect(bench.last(.promote)?["phase"] == "step_passed")
    }

    @Test func eachStepNeedsItsIterationsInARow() async throws {
        let bench = try await PromotionBench(limits: "iterations: 2, threshold: 2", answers: [.allow])
        try await bench.stack.promote(steps: [50, 100], force: false)
        #expect(bench.clock.slept == Array(repeating: .seconds(30), count: 4))
        #expect(bench.routedWeights == [10, 50, 100, nil])
        #expect(bench.console.text.components(separatedBy: "check 2 of 2 in a row passed").count - 1 == 2, "\(bench.console.text)")
        #expect(bench.last(.promote)?["checks"] == 4)
    }

    @Test func aFailureBelowTheThresholdStartsTheRunAgain() async throws {
        let bench = try await PromotionBench(limits: "iterations: 2, threshold: 3", answers: [.allow, .deny, .allow, .allow, .allow])
        try await bench.stack.promote(steps: [50, 100], force: false)
        #expect(bench.console.text.contains("check failed: 1 of 3 failed checks allowed; checking again in 30s"), "\(bench.console.text)")
        #expect(bench.last(.promote)?["checks"] == 6 && bench.last(.promote)?["failed_checks"] == 1)
        #expect(try bench.runtime.state().tracks[.stable]?.version == "2.0.0")
    }

    /// Failed checks add up over the steps: the threshold is reached at whichever step brings the
    /// second, and the traffic rolls back from that step's weight.
    @Test(arguments: [1, 2, 3])
    func theThresholdRollsBackAtTheStepItIsReached(step: Int) async throws {
        let weights = [25, 50, 100]
        // One failure in step 1, the second in `step` (every step passes after a failure until then).
        var answers: [ScriptedPolicyEngine.Answer] = step == 1 ? [.deny, .deny] : [.deny, .allow]
        answers += Array(repeating: .allow, count: max(0, step - 2)) + (step > 1 ? [.deny] : [])
        let bench = try await PromotionBench(limits: "threshold: 2", answers: answers)
        let blocked = await #expect(throws: PolicyBlocked.self) { try await bench.stack.promote(steps: weights, force: false) }
        #expect(blocked?.decision.allow == false)
        #expect(bench.routedWeights == [10] + weights.prefix(step) + [nil], "routed to each weight up to the stop, then all to stable")
        #expect(bench.console.text.contains("promote: rolling back at \(weights[step - 1])%"))
        #expect(bench.last(.rollback)?["reason"] == .string("canary_safety denied at \(weights[step - 1])% (2 failed checks)"))
        let state = try bench.runtime.state()
        #expect(state.tracks[.canary] == nil && state.tracks[.stable]?.version == "1.0.0")
    }

    @Test func aQuietStepWaitsForTrafficWithoutCountingAndRecordsItOnce() async throws {
        let bench = try await PromotionBench(answers: [.allow], requests: [0, 3, 7, 25])
        try await bench.stack.promote(steps: [100], force: false)
        #expect(bench.clock.slept == [.seconds(30), .seconds(1), .seconds(1), .seconds(1)])
        #expect(bench.engine.asked.filter { $0.policy == .canarySafety }.count == 1, "nothing is judged while it waits")
        let waits = bench.events(.promoteStep).filter { $0["inconclusive"] == true }
        #expect(waits.count == 1 && waits.first?["requests"] == 0)
        #expect(bench.console.text.contains("promote: step 1/1 at 100%: inconclusive, 0 of 20 requests in the last 30s; waiting for traffic (at most 10m00s more)"),
                "\(bench.console.text)")
        #expect(bench.last(.promote)?["checks"] == 1)
    }

    @Test func pastTheDeadlineAQuietStepIsJudgedAsItStands() async throws {
        let bench = try await PromotionBench(limits: "deadline: 10s", answers: [.deny], requests: [0])
        await #expect(throws: PolicyBlocked.self) { try await bench.stack.promote(steps: [50], force: false) }
        #expect(bench.clock.slept == [.seconds(30)] + Array(repeating: .seconds(1), count: 10))
        #expect(bench.console.text.components(separatedBy: "inconclusive").count - 1 == 2, "said at once and 5 s later, not every second")
        #expect(bench.routedWeights.last == .some(nil) && bench.last(.rollback) != nil)
    }

    @Test func aDeniedSinglePromoteChangesNothing() async throws {
        let bench = try await PromotionBench(answers: [.deny])
        let before = bench.runtime.calls
        await #expect(throws: PolicyBlocked.self) { try await bench.stack.promote(steps: [], force: false) }
        #expect(bench.runtime.calls == before)
        #expect(try bench.runtime.state().tracks[.canary]?.version == "2.0.0")
    }

    @Test func noAnswerFromTheEngineIsNo() async throws {
        let bench = try await PromotionBench(answers: [.noAnswer])
        let blocked = await #expect(throws: PolicyBlocked.self) { try await bench.stack.promote(steps: [100], force: false) }
        #expect(blocked?.description.contains("could not answer (the script gives no answer), so the answer is no") == true && blocked?.description.contains("--force") == false)
        #expect(bench.last(.rollback) != nil)
    }

    @Test func forceCountsADeniedCheckAsPassedAndSaysSo() async throws {
        let bench = try await PromotionBench(answers: [.deny])
        try await bench.stack.promote(steps: [50, 100], force: true)
        #expect(bench.console.text.contains("WARNING: --force: counting a denied check as passed (recorded in history as forced)"))
        let checks = bench.history.events().events.filter { $0.decision?.policy == .canarySafety }
        #expect(checks.count == 2 && checks.allSatisfy { $0.forced == true })
        let promotion = bench.history.events().events.last { $0.event == .promote }
        #expect(promotion?.forced == true && promotion?.details["failed_checks"] == 0 && promotion?.details["forced_checks"] == 2)
    }

    /// Ctrl-C during a step: the traffic goes back to the canary's weight before the promotion, the
    /// canary keeps running, history and the error say so.
    @Test func anInterruptPutsTheTrafficBackWhereItWas() async throws {
        let bench = try await PromotionBench(answers: [.allow], cancelAt: 2)
        // Its own task, as the command's: Ctrl-C cancels that task, not the test's.
        let promotion = Task { [stack = bench.stack] in try await stack.promote(steps: [50, 100], force: false) }
        let error = await #expect(throws: PromotionInterrupted.self) { try await promotion.value }
        #expect(error?.step == 2 && error?.weight == 100 && error?.restoredWeight == 10)
        #expect(bench.routedWeights == [10, 50, 100, 10])
        let state = try bench.runtime.state()
        #expect(state.routing?.canary?.weight == 10 && state.tracks[.canary]?.version == "2.0.0")
        #expect(bench.last(.promoteAborted)?["weight"] == 10 && bench.last(.promoteAborted)?["step_weight"] == 100 && bench.last(.promoteAborted)?["checks"] == 1)
    }

    @Test func aPromotedReleaseThatNeverStartsLeavesBothTracksRunning() async throws {
        let bench = try await PromotionBench(answers: [.allow])
        bench.runtime.failNextLaunch("did not become healthy")
        await #expect(throws: Error.self) { try await bench.stack.promote(steps: [], force: false) }
        let state = try bench.runtime.state()
        #expect(state.tracks[.stable]?.version == "1.0.0" && state.tracks[.canary]?.version == "2.0.0")
        #expect(bench.last(.promote) == nil)
    }
}

/// Canary traffic from a script: each reading takes the next request count (the last repeats).
final class ScriptedEvidence: CanaryEvidence {
    private let counts: Mutex<[Int]>

    init(requests: [Int]) { counts = Mutex(requests) }

    func scrape(_ canary: StackState.TrackRecord) async -> CanaryAnalysis.Scrape { CanaryAnalysis.Scrape(text: nil, at: .now) }

    func input(_ canary: StackState.TrackRecord, since: CanaryAnalysis.Scrape?) async -> (input: JSONValue, scrape: CanaryAnalysis.Scrape) {
        let requests = counts.withLock { $0.count > 1 ? $0.removeFirst() : $0.first ?? 0 }
        let stats = TrackStats(requests: requests, serverErrors: 0, p99LatencyMS: 12, window: 30)
        return (CanaryAnalysis.input(stats), CanaryAnalysis.Scrape(text: nil, at: .now))
    }
}

/// A stack on fakes, with stable 1.0.0 running and canary 2.0.0 at 10%, as `deploy` and
/// `canary start` leave them.
struct PromotionBench {
    let runtime: FakeRuntime
    let engine: ScriptedPolicyEngine
    let clock: SteppingClock
    let console = BufferConsole()
    let stack: Stack
    var history: History { stack.history }

    init(limits: String = "", answers: [ScriptedPolicyEngine.Answer], requests: [Int] = [100], cancelAt: Int? = nil) async throws {
        let folder = try temporaryProject("""
            name: fake
            services:
              web:
                command: [web, --port, "{port}"]
                port: 4000
                version: 1.0.0
                canary: { command: [web, --port, "{port}"], version: 2.0.0, weight: 10 }
            policy:
              canary_safety: { max_error_rate: 5%, max_p99_latency_ms: 500, min_requests: 20, window: 30s, interval: 30s\(limits.isEmpty ? "" : ", " + limits) }
            """)
        let project = try Project(file: "\(folder)/swiftdeploy.yaml")
        runtime = FakeRuntime(manifest: project.manifest)
        engine = ScriptedPolicyEngine(canary: answers)
        clock = SteppingClock(cancelAt: cancelAt)
        stack = Stack(project: project, console: console, engine: engine, runtime: runtime, clock: clock,
                      evidence: ScriptedEvidence(requests: requests))
        let manifest = project.manifest
        // The records `deploy` and `canary start` leave, without the deploy's HTTP health wait.
        let stable = try await runtime.launch(.stable, TrackSpec.stable(manifest))
        let canary = try await runtime.launch(.canary, try #require(TrackSpec.canary(manifest)))
        try await runtime.route(Routing(stablePort: stable.port, canary: .init(port: canary.port, weight: 10)))
        try runtime.update {
            $0.tracks[.stable] = stable
            $0.tracks[.canary] = canary
        }
    }

    /// The canary's weight in each routing nginx was given (nil: all to stable).
    var routedWeights: [Int?] { runtime.routings.map { $0.canary?.weight } }

    func events(_ kind: HistoryEvent.Kind) -> [[String: JSONValue]] {
        history.events().events.filter { $0.event == kind }.map(\.details)
    }

    func last(_ kind: HistoryEvent.Kind) -> [String: JSONValue]? { events(kind).last }
}
