import Foundation
import Guard
import Manifest
import Telemetry

extension GuardConfig {
    /// The manifest's `guard` section as the engine's plain settings.
    public init(_ settings: GuardSettings) {
        self.init()
        window = Int(settings.window.seconds)
        baselineWindow = Int(settings.baseline.window.seconds)
        recalcEvery = max(1, Int(settings.baseline.recalc.seconds))
        minPoints = settings.baseline.minPoints
        meanFloor = settings.baseline.meanFloor
        clientFloor = settings.baseline.clientFloor
        clientQuantile = settings.baseline.clientQuantile
        rules = settings.rules
        protected = settings.trustedProxies
        zScore = settings.thresholds.zScore
        multiplier = settings.thresholds.multiplier
        errorSurge = settings.thresholds.errorSurge
        surgeTightening = settings.thresholds.surgeTightening
        bans = settings.bans.map { length -> Int? in
            if case .lasting(let duration) = length { return Int(duration.seconds) }
            return nil
        }
        forgiveAfter = Int(settings.forgiveAfter.seconds)
        allow = settings.allow
        maxTrackedIPs = settings.maxTrackedIPs
        globalCooldown = Int(settings.globalCooldown.seconds)
        minRequests = settings.minRequests
    }
}

extension GuardLogParser {
    public init(_ settings: GuardSettings, format: AccessLogFormat? = nil) {
        self.init(format: format ?? (settings.logFormat == .json ? .json : .combined),
                  resolver: ClientResolver(trustedProxies: settings.trustedProxies, ipv6Prefix: settings.ipv6Prefix),
                  classifier: settings.requests)
    }
}

/// `swiftdeploy guard replay`: prints decisions as audit lines or JSON, then a summary.
public struct GuardReplayUseCase: Sendable {
    public let settings: GuardSettings
    public let console: any Console

    public init(settings: GuardSettings, console: any Console = TerminalConsole()) {
        self.settings = settings
        self.console = console
    }

    @discardableResult
    public func run(log: String, format: AccessLogFormat?, json: Bool) throws -> Replay.Summary {
        guard let data = FileManager.default.contents(atPath: log) else {
            throw LifecycleError(FileManager.default.fileExists(atPath: log) ? "cannot read \(log) (permissions?)" : "no such log: \(log)")
        }
        let started = ContinuousClock.now
        var replay = Replay(config: GuardConfig(settings), parser: GuardLogParser(settings, format: format))
        let decisions = replay.feed(data) + replay.finish()
        for decision in decisions {
            if json {
                if let line = decision.replayJSON { console.say(line) }
            } else {
                console.say(decision.auditLine)
            }
        }
        let summary = replay.summary
        if json {
            console.say("{\"summary\":{\"lines\":\(summary.lines),\"bad_lines\":\(summary.badLines),\"bans\":\(summary.bans),\"seconds\":\(summary.seconds)}}")
        } else {
            let elapsed = ContinuousClock.now - started
            console.say("replay: \(summary.lines) lines (\(summary.badLines) malformed, skipped), \(summary.bans) bans, \(summary.seconds) s of log time, in \(String(format: "%.2f", elapsed.seconds)) s")
            for sample in replay.parser.badSamples { console.say("  malformed: \(sample)") }
        }
        return summary
    }
}
