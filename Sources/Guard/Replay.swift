import Foundation
import Telemetry

/// `guard replay`: the whole pipeline over a finished log, with the log's own timestamps as the
/// clock. It never touches a firewall.
public struct Replay: Sendable {
    public struct Summary: Sendable, Equatable {
        public var lines: Int
        public var badLines: Int
        public var bans: Int
        /// Log time covered, first line to last.
        public var seconds: Int
    }

    public var engine: GuardEngine
    public var parser: GuardLogParser
    private var first: Int?
    private var last: Int?
    private var bans = 0

    public init(config: GuardConfig, parser: GuardLogParser) {
        engine = GuardEngine(config: config)
        self.parser = parser
    }

    /// Feeds every complete line of `data`; returns the decisions they caused, in order.
    public mutating func feed(_ data: Data) -> [GuardDecision] {
        var decisions: [GuardDecision] = []
        data.withUnsafeBytes { raw in
            let bytes = raw.bindMemory(to: UInt8.self)
            var start = 0
            for index in 0..<bytes.count where bytes[index] == 0x0A {
                feedLine(UnsafeBufferPointer(rebasing: bytes[start..<index]), into: &decisions)
                start = index + 1
            }
            if start < bytes.count { feedLine(UnsafeBufferPointer(rebasing: bytes[start..<bytes.count]), into: &decisions) }
        }
        return decisions
    }

    private mutating func feedLine(_ line: UnsafeBufferPointer<UInt8>, into decisions: inout [GuardDecision]) {
        guard !line.isEmpty, let event = parser.parse(line) else { return }
        let second = Int(event.timestamp.rounded(.down))
        if first == nil { first = second }
        last = max(last ?? second, second)
        engine.ingest(event)
        guard engine.hasDecisions else { return }
        let made = engine.drain()
        bans += made.filter { $0.action == .ban }.count
        decisions += made
    }

    /// Runs the timers to the end of the log plus `tail` seconds (so bans due then are lifted).
    public mutating func finish(tail: Int = 0) -> [GuardDecision] {
        guard let last else { return [] }
        engine.advance(to: last + tail)
        return engine.drain()
    }

    public var summary: Summary {
        Summary(lines: parser.lines, badLines: parser.badLines, bans: bans, seconds: (last ?? 0) - (first ?? 0))
    }
}
