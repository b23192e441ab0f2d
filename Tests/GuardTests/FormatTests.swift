import Foundation
import Detection
import Telemetry
import Testing
import Vocabulary

@Suite struct DecisionFormats {
    @Test func auditLinesHaveTheExactShape() {
        let ban = GuardDecision(at: 1_767_268_807, action: .ban, ip: IPAddress("1.2.3.4"), duration: 600, condition: "z=4.21", rate: 12.5, baseline: 2.1)
        #expect(ban.auditLine == "[2026-01-01T12:00:07Z] BAN ip=1.2.3.4 | condition=z=4.21 | rate=12.500 | baseline=2.100 | duration=600s")
        var permanent = ban
        permanent.duration = nil
        #expect(permanent.auditLine.hasSuffix("| duration=permanent"))
        let global = GuardDecision(at: 1_767_268_807, action: .globalAnomaly, ip: nil, duration: nil, condition: "z=5.00", rate: 90, baseline: 10)
        #expect(global.auditLine == "[2026-01-01T12:00:07Z] GLOBAL_ANOMALY ip=global | condition=z=5.00 | rate=90.000 | baseline=10.000 | duration=0s")
    }

    @Test func replayJSONIsTheDesignedObject() throws {
        var ban = GuardDecision(at: 1_767_268_807, action: .ban, ip: IPAddress("203.0.113.9"), duration: 600, condition: "z=4.21",
                                rate: 12.5004, baseline: 2.1)
        ban.rule = .zScore
        #expect(ban.record.jsonLine
            == #"{"action":"ban","at":"2026-01-01T12:00:07Z","baseline":2.1,"condition":"z=4.21","duration_s":600,"ip":"203.0.113.9","rate":12.5,"rule":"z_score"}"#)
        var permanent = ban
        permanent.duration = nil
        #expect(permanent.record.jsonLine.contains(#""duration_s":-1"#))
        let global = GuardDecision(at: 1_767_268_807, action: .globalAnomaly, ip: nil, duration: nil, condition: "z=5.00", rate: 90, baseline: 10)
        #expect(global.record.jsonLine.contains(#""duration_s":null"#) && global.record.jsonLine.contains(#""ip":null"#))
        let recalc = GuardDecision(at: 0, action: .baselineRecalc, ip: nil, duration: 60, condition: "", rate: 0, baseline: 0)
        #expect(!recalc.isReplayed && ban.isReplayed && global.isReplayed)
        for decision in [ban, permanent, global] {
            #expect(try JSONDecoder().decode(DecisionRecord.self, from: Data(decision.record.jsonLine.utf8)) == decision.record)
        }
    }

    @Test func replayOfALogGivesTheSameDecisionsAsLivingThroughIt() {
        // The same traffic as a log file (with the log's own times) and as events fed one by one.
        var scenario = Scenario()
        scenario.crowd(20, rate: 0.5, from: Scenario.t0, seconds: 1200)
        scenario.steady("203.0.113.9", rate: 20, from: Scenario.t0 + 900, seconds: 60)
        let ordered = scenario.events.sorted { ($0.timestamp, $0.client) < ($1.timestamp, $1.client) }
        var text = ""
        for event in ordered {
            text += #"{"msec":\#(String(format: "%.3f", event.timestamp)),"remote_addr":"\#(event.client)","status":\#(event.status),"ua":"t"}"# + "\n"
        }
        text += "not a log line\n"
        var replay = Replay(config: GuardConfig(), parser: GuardLogParser(format: .json, resolver: ClientResolver()))
        let replayed = (replay.feed(Data(text.utf8)) + replay.finish(tail: 700)).filter { $0.action != .baselineRecalc }
        let lived = scenario.run(tail: 700)
        #expect(replayed == lived)
        #expect(replayed.map(\.action) == [.ban, .unban])
        let summary = replay.summary
        let figures: [Int] = [summary.lines, summary.badLines, summary.bans, summary.seconds]
        let expected: [Int] = [ordered.count + 1, 1, 1, 1198]  // the last request is at +1198 s
        #expect(figures == expected)
    }
}
