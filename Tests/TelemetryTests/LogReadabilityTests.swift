import Foundation
import Testing

@testable import Telemetry
import Vocabulary

@Suite struct LogReadabilityJudging {
    let json = #"{"msec":1795687200,"remote_addr":"192.0.2.1","status":200}"#
    let combined = #"192.0.2.1 - - [15/Jan/2027:08:00:00 +0000] "GET / HTTP/1.1" 200 512 "-" "curl/8""#
    let common = #"192.0.2.1 - - [15/Jan/2027:08:00:00 +0000] "GET / HTTP/1.1" 200 512"#

    func bytes(_ lines: [String]) -> [[UInt8]] { lines.map { Array($0.utf8) } }

    @Test func aConfiguredFormatReadsOnlyItself() {
        let reading = LogReadability.judge(bytes(Array(repeating: combined, count: 9) + [json]), in: .json)
        #expect(reading.lines == 10 && reading.badLines == 9 && reading.isMostlyMalformed)
        #expect(reading.finding == "9 of 10 lines (90.0%) do not parse as json")
        #expect(reading.example == "; e.g. \"\(combined)\"")
    }

    @Test func autoReadsAnyFormatAndNamesTheOneMostLinesAreIn() {
        let reading = LogReadability.judge(bytes(Array(repeating: combined, count: 3) + [common, "garbage"]), in: .auto)
        #expect(reading.badLines == 1 && !reading.isMostlyMalformed)
        #expect(reading.format == .combined)
        #expect(reading.finding == "1 of 5 lines (20.0%) do not parse as combined (recognised from the log)")
        let none = LogReadability.judge(bytes(["GET / 200", "{not json}"]), in: .auto)
        #expect(none.format == nil && none.isMostlyMalformed)
        #expect(none.finding.hasSuffix("do not parse as any format the guard reads (\(LogReadability.readable))"))
        #expect(LogReadability.readable.hasPrefix("json, combined, combined_xff, common"))
    }

    @Test func aSampleIsShownOnOneShortLine() {
        #expect(LogReadability.shown("a\tb\u{1B}[31mc") == "a?b?[31mc")
        #expect(LogReadability.shown(String(repeating: "x", count: 500)) == String(repeating: "x", count: 120) + "…")
        #expect(LogReadability.percent(0.0004) == "<0.1%" && LogReadability.percent(0) == "0.0%" && LogReadability.percent(1) == "100.0%")
    }
}

@Suite struct LogFileEnd {
    func directory() throws -> String {
        let path = NSTemporaryDirectory() + "swiftdeploy-logend-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    @Test func theLastWholeLinesOfTheLastBytes() throws {
        let dir = try directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let log = "\(dir)/access.log"
        let text = (0..<1000).map { "line \($0)" }.joined(separator: "\n") + "\nhalf a li"
        try text.write(toFile: log, atomically: false, encoding: .utf8)
        let lines = try #require(try LogFile.lastLines(of: log, bytes: 100, count: 200)).map { String(decoding: $0, as: UTF8.self) }
        #expect(lines.last == "line 999", "the line nginx is still writing is left out")
        #expect(lines.first?.hasPrefix("line 99") == true && lines.allSatisfy { $0.hasPrefix("line ") }, "no cut first line: \(lines)")
        #expect(try LogFile.lastLines(of: log, count: 3)?.count == 3)
    }

    @Test func noFileIsNoFailureAndALinkIsRefused() throws {
        let dir = try directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(try LogFile.lastLines(of: "\(dir)/access.log") == nil, "a fresh host")
        try "secret\n".write(toFile: "\(dir)/other", atomically: false, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: "\(dir)/access.log", withDestinationPath: "\(dir)/other")
        #expect(throws: LogFile.Failure.refused("\(dir)/access.log is a symbolic link; the guard reads only the file itself (point guard.log at it)")) {
            try LogFile.lastLines(of: "\(dir)/access.log")
        }
    }
}
