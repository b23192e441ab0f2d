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

/// `swiftdeploy guard replay`: prints decisions as audit lines or JSON as they are made, then a
/// summary; reads the log in chunks, so memory does not grow with its length. `explain` follows one
/// client: its figures at every recalc and every decision about it.
public struct GuardReplayUseCase: Sendable {
    public let config: GuardConfig
    public let makeParser: @Sendable (AccessLogFormat) -> GuardLogParser
    public let console: any Console

    public init(settings: GuardSettings, console: any Console = TerminalConsole()) {
        config = GuardConfig(settings)
        makeParser = { GuardLogParser(settings, format: $0) }
        self.console = console
    }

    /// The built-in defaults, for a log replayed without a manifest.
    public init(console: any Console = TerminalConsole()) {
        config = GuardConfig()
        makeParser = { GuardLogParser(format: $0, resolver: ClientResolver()) }
        self.console = console
    }

    @discardableResult
    public func run(log: String, format: AccessLogFormat?, json: Bool, explain: IPAddress? = nil) throws -> Replay.Summary {
        guard let handle = FileHandle(forReadingAtPath: log) else {
            throw LifecycleError(FileManager.default.fileExists(atPath: log) ? "cannot read \(log) (permissions?)" : "no such log: \(log)")
        }
        defer { try? handle.close() }
        let started = ContinuousClock.now
        var chunk = try handle.read(upToCount: 4 << 20) ?? Data()
        // Without a format: a line that starts with `{` is the JSON format, anything else `combined`.
        let chosen = format ?? (chunk.first == UInt8(ascii: "{") ? .json : .combined)
        var replay = Replay(config: config, parser: makeParser(chosen))
        var output = OutputBuffer(console: console)
        let target = explain.map { ClientResolver().client(peer: $0, forwardedFor: UnsafeBufferPointer(start: nil, count: 0)) }
        func decided(_ decision: GuardDecision) {
            if let target {
                if decision.ip == target || decision.action == .baselineRecalc, let row = replay.engine.explain(target) {
                    output.say(row.line + (decision.ip == target ? "  → \(decision.action.rawValue.uppercased()) \(decision.condition)" : ""))
                }
            } else if json {
                if let line = decision.replayJSON { output.say(line) }
            } else {
                output.say(decision.auditLine)
            }
        }
        var carry = Data()
        while !chunk.isEmpty {
            if !carry.isEmpty { chunk = carry + chunk }
            let used = chunk.withUnsafeBytes { raw in replay.feedLines(raw.bindMemory(to: UInt8.self), decided: decided) }
            carry = used < chunk.count ? chunk.subdata(in: used..<chunk.count) : Data()
            chunk = try handle.read(upToCount: 4 << 20) ?? Data()
        }
        if !carry.isEmpty {
            carry.withUnsafeBytes { raw in replay.feedLine(raw.bindMemory(to: UInt8.self), decided: decided) }
        }
        for decision in replay.finish() { decided(decision) }
        let summary = replay.summary
        if let target, explain != nil {
            output.say(replay.engine.explain(target).map { "end: " + $0.line } ?? "\(target): no request from this client in the log")
        }
        if json && target == nil {
            output.say(String(decoding: try JSONEncoder.sorted.encode(["summary": summary]), as: UTF8.self))
        } else if target == nil {
            let elapsed = ContinuousClock.now - started
            output.say("replay: \(summary.lines) lines (\(summary.badLines) malformed, skipped), \(summary.bans) bans, \(summary.seconds) s of log time, in \(String(format: "%.2f", elapsed.seconds)) s")
            for sample in replay.parser.badSamples { output.say("  malformed: \(sample)") }
        }
        output.flush()
        return summary
    }
}

/// Collects output lines and writes them in batches (a replay can print a million lines).
struct OutputBuffer {
    let console: any Console
    private var lines: [String] = []

    init(console: any Console) { self.console = console }

    mutating func say(_ line: String) {
        lines.append(line)
        if lines.count >= 4096 { flush() }
    }

    mutating func flush() {
        guard !lines.isEmpty else { return }
        console.say(lines.joined(separator: "\n"))
        lines.removeAll(keepingCapacity: true)
    }
}

extension JSONEncoder {
    /// Keys in a fixed order, so output is stable.
    static var sorted: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }
}

extension GuardEngine.Explanation {
    /// One row of `guard replay --explain`: the client's figures and why it is or is not banned.
    public var line: String {
        var why: [String] = []
        if banned { why.append("banned") }
        let levels = levels.map { String(format: "%@ %.1f/%.0f", $0.rule, $0.level, $0.burst) }.joined(separator: " ")
        if !warm { why.append("learning (rate rules wait for the baseline)") }
        if !banned && warm && rate < threshold { why.append(String(format: "below the rate rules' %.3f/s", threshold)) }
        let text = String(format: "%@ rate=%.3f/s expected=%.3f z=%.2f requests=%d errors=%.0f%% agents=%d%@ | %@",
                          ISO8601.format(at), rate, expected, z, requests, errorRate * 100, agents, surging ? " error_surge" : "", levels)
        return text + (why.isEmpty ? "" : " | " + why.joined(separator: ", "))
    }
}
