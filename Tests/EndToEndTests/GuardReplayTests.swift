import Foundation
import TestSupport
import Testing

/// `swiftdeploy guard replay` as an operator runs it on yesterday's log.
@Suite struct GuardReplayCommand {
    func project(log: String) throws -> String {
        let directory = TestSupport.temporaryDirectory("replay")
        try "name: replay\nservices:\n  app: { command: [swiftdeploy-demo], port: 3000 }\n"
            .write(toFile: "\(directory)/swiftdeploy.yaml", atomically: true, encoding: .utf8)
        try log.write(toFile: "\(directory)/access.log", atomically: true, encoding: .utf8)
        return directory
    }

    /// 20 clients at 0.5 req/s for 20 minutes, and one at 20 req/s for a minute from +15 min.
    static var attackLog: String {
        var lines: [(Double, String)] = []
        let start = 1_767_268_800.0  // 2026-01-01T12:00:00Z
        for client in 1...20 {
            for index in 0..<600 { lines.append((start + Double(index) * 2 + Double(client) / 100, "192.0.2.\(client)")) }
        }
        for index in 0..<1200 { lines.append((start + 900 + Double(index) / 20, "203.0.113.9")) }
        return lines.sorted { $0.0 < $1.0 }.map { time, address in
            #"{"time":"x","msec":\#(String(format: "%.3f", time)),"remote_addr":"\#(address)","xff":"","method":"GET","uri":"/","status":200,"ua":"t"}"#
        }.joined(separator: "\n") + "\nthis line is not JSON\n"
    }

    @Test func jsonDecisionsThenASummary() throws {
        let directory = try project(log: Self.attackLog)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let result = try TestSupport.run("swiftdeploy", ["guard", "replay", "--log", "access.log", "--json"], in: directory)
        #expect(result.status == 0, "\(result.stderr)")
        let objects = try result.stdout.split(separator: "\n").map { try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
        let ban = try #require(objects.first)
        #expect(ban["action"] as? String == "ban")
        #expect(ban["ip"] as? String == "203.0.113.9")
        #expect(ban["duration_s"] as? Int == 600)
        #expect((ban["at"] as? String)?.hasPrefix("2026-01-01T12:15:") == true)
        #expect((ban["condition"] as? String)?.isEmpty == false)
        let summary = try #require(objects.last?["summary"] as? [String: Any])
        #expect(summary["lines"] as? Int == 13201)
        #expect(summary["bad_lines"] as? Int == 1)
        #expect(summary["bans"] as? Int == 1)
        #expect(summary["format"] as? String == "json" && summary["format_recognised"] as? Bool == true)
        #expect(summary["late_lines"] as? Int == 0 && summary["stale_lines"] as? Int == 0 && summary["clock_steps"] as? Int == 0)
        #expect(result.stderr.contains(#"replay: 1 of 13201 lines (<0.1%) do not parse as json (recognised from the log); e.g. "this line is not JSON"; they were skipped"#),
                "\(result.stderr)")
    }

    @Test func auditLinesByDefaultAndMalformedSamples() throws {
        let directory = try project(log: Self.attackLog)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let result = try TestSupport.run("swiftdeploy", ["guard", "replay", "--log", "access.log"], in: directory)
        #expect(result.status == 0)
        #expect(result.stdout.contains("] BAN ip=203.0.113.9 | condition="))
        #expect(result.stdout.contains("| duration=600s"))
        #expect(!result.stdout.contains("BASELINE_RECALC"), "recalcs only with --recalcs")
        let verbose = try TestSupport.run("swiftdeploy", ["guard", "replay", "--log", "access.log", "--recalcs"], in: directory)
        #expect(verbose.stdout.contains("] BASELINE_RECALC ip=- | condition=mean="))
        #expect(result.stdout.contains("replay: 13201 lines (1 malformed, skipped), format json (recognised), 1 bans, "), "\(result.stdout)")
        #expect(result.stdout.contains("(0 lines late, 0 stale, 0 clock steps)"))
        #expect(result.stdout.contains("  malformed: this line is not JSON"))
    }

    @Test func explainFollowsOneClientToItsBan() throws {
        let directory = try project(log: Self.attackLog)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let result = try TestSupport.run("swiftdeploy", ["guard", "replay", "--log", "access.log", "--explain", "203.0.113.9"], in: directory)
        #expect(result.status == 0, "\(result.stderr)")
        let rows = result.stdout.split(separator: "\n").map(String.init)
        let ban = try #require(rows.first { $0.contains("→ BAN flood requests=") }, "\(result.stdout)")
        #expect(ban.hasPrefix("2026-01-01T12:15:"), "banned early in its flood: \(ban)")
        #expect(ban.contains("flood ") && ban.contains("/40"), "the flood bucket's level against its burst: \(ban)")
        let after = rows.drop { !$0.contains("→ BAN") }.dropFirst()
        #expect(!after.isEmpty && after.allSatisfy { $0.contains("| banned") }, "banned until the log ends: \(after)")
        #expect(!rows.contains { $0.contains("192.0.2.") }, "only the followed client")
        let quiet = try TestSupport.run("swiftdeploy", ["guard", "replay", "--log", "access.log", "--explain", "192.0.2.7"], in: directory)
        #expect(!quiet.stdout.contains("→ BAN"), "\(quiet.stdout)")
        #expect(quiet.stdout.contains("below the rate rules'"), "says why it is not banned: \(quiet.stdout)")
        // With --json, every row is a JSON object; the ban's row carries its action.
        let json = try TestSupport.run("swiftdeploy", ["guard", "replay", "--log", "access.log", "--explain", "203.0.113.9", "--json"], in: directory)
        let objects = json.stdout.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        #expect(!objects.isEmpty && objects.count == json.stdout.split(separator: "\n").count, "only JSON lines: \(json.stdout.prefix(300))")
        #expect(objects.contains { $0["action"] as? String == "ban" && ($0["condition"] as? String)?.hasPrefix("flood") == true && $0["error_rate"] != nil })
    }

    @Test func replaysWithoutAManifestOnTheDefaults() throws {
        let directory = TestSupport.temporaryDirectory("replay-bare")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try Self.attackLog.write(toFile: "\(directory)/access.log", atomically: true, encoding: .utf8)
        let result = try TestSupport.run("swiftdeploy", ["guard", "replay", "--log", "access.log", "--json"], in: directory)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains(#""ip":"203.0.113.9""#))
        #expect(result.stdout.contains(#""summary":{"bad_lines":1,"bans":1,"clock_steps":0,"format":"json","format_recognised":true,"late_lines":0,"lines":13201"#),
                "\(result.stdout)")
    }

    /// A log in another format than the one given: the summary says what was read, and the command fails saying what to do.
    @Test func aLogMostlyInAnotherFormatFails() throws {
        let directory = try project(log: Self.attackLog)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let result = try TestSupport.run("swiftdeploy", ["guard", "replay", "--log", "access.log", "--format", "combined"], in: directory)
        #expect(result.status == 1)
        #expect(result.stdout.contains("replay: 13201 lines (13201 malformed, skipped), format combined (given), 0 bans"), "\(result.stdout)")
        #expect(result.stderr.contains("error: access.log: 13201 of 13201 lines (100.0%) do not parse as combined; e.g. \"this line is not JSON\": pass --format"),
                "\(result.stderr)")
    }

    @Test func missingLogSaysSo() throws {
        let directory = try project(log: "")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let result = try TestSupport.run("swiftdeploy", ["guard", "replay", "--log", "nope.log"], in: directory)
        #expect(result.status == 1)
        #expect(result.stderr.contains("no such log: nope.log"))
    }
}
