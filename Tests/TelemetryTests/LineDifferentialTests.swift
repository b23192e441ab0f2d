import Foundation
import ReferenceParsers
import Testing
import Vocabulary

@testable import Telemetry

/// The byte-level line and address parsers against their plain twins (`ReferenceLine`,
/// `ReferenceAddress`) over generated inputs: valid lines in every shape nginx and Apache write,
/// and lines with odd spacing, escapes, brackets and quotes in the fields strangers set.
@Suite struct LineDifferential {
    struct Maker {
        var random: SeededRandom

        mutating func pick<T>(_ choices: [T]) -> T { choices[Int(random.next() % UInt64(choices.count))] }
        mutating func chance(_ percent: UInt64) -> Bool { random.next() % 100 < percent }
        mutating func number(_ range: Range<Int>) -> Int { range.lowerBound + Int(random.next() % UInt64(range.count)) }

        mutating func v4() -> String {
            (0..<4).map { _ in
                let octet = chance(3) ? number(256..<300) : number(0..<256)
                return chance(3) ? "0\(octet)" : "\(octet)"
            }.joined(separator: chance(2) ? ".." : ".")
        }

        mutating func v6() -> String {
            var groups = (0..<8).map { _ -> String in
                let group = String(number(0..<65536), radix: 16)
                return chance(20) ? group.uppercased() : (chance(5) ? "0" : group)
            }
            if chance(10) { groups[6...] = [v4()] }
            if chance(3) { groups.append("1") }
            if chance(3) { groups[number(0..<groups.count)] = "12345" }
            var text = groups.joined(separator: ":")
            if chance(60) {
                // Compress a run of groups.
                let start = number(0..<groups.count), length = number(0..<(groups.count - start + 1))
                text = groups[..<start].joined(separator: ":") + "::" + groups[(start + length)...].joined(separator: ":")
            }
            if chance(3) { text += "%eth0" }
            if chance(2) { text = "::" + text }
            return text
        }

        mutating func address() -> String { chance(70) ? v4() : v6() }

        /// A quoted field's content: text, escaped quotes and backslashes, brackets.
        mutating func field() -> String {
            (0..<number(0..<12)).map { _ in pick(["a", "Z", "/", " ", "[", "]", "\\\"", "\\\\", "-", "é", "x22", "\\x22", "1"]) }.joined()
        }

        mutating func combinedTime() -> String {
            let day = number(10957..<47482)  // 2000 … 2099
            return TimeDifferential.combined(day: day, second: number(0..<86400), zone: pick(TimeDifferential.zones))
        }

        mutating func combined(xff: Bool) -> String {
            let user = pick(["-", "alice", "a b", "[01/Jan/9999:00:00:00 +0000]", "x]y", field().replacingOccurrences(of: "\"", with: "")])
            let request = chance(90) ? "\(pick(["GET", "POST", "HEAD", "PROPFIND"])) \(pick(["/", "/a?b=c", "/x y", "/%22", "/a#f?g", field()])) HTTP/1.1" : field()
            let status = chance(95) ? "\(pick([200, 301, 404, 500, 503, 499]))" : pick(["20", "2000", "abc", "200x"])
            var line = "\(address()) \(user) [\(combinedTime())] \"\(request)\" \(status) \(pick(["512", "-", "0", "1\t2"]))"
            let quoted = [field(), field(), address() + (chance(50) ? ", " + address() : "")]
            for index in 0..<number(0..<(xff ? 4 : 3)) { line += pick([" ", "  ", "\t", " "]) + "\"\(quoted[index])\"" }
            if chance(3) { line += pick([" trailing", " \"", "\\"]) }
            return chance(2) ? line.replacingOccurrences(of: " [", with: "  [") : line
        }

        mutating func json() -> String {
            let time = Double(number(946_684_800..<4_102_444_799)) + Double(number(0..<1000)) / 1000
            var fields = [
                "\"remote_addr\":\"\(address())\"", "\"status\":\(chance(10) ? "\"\(pick([200, 404]))\"" : "\(pick([200, 404, 500, 42, 1000]))")",
                "\"method\":\"\(pick(["GET", "POST"]))\"", "\"uri\":\"\(pick(["/", "/a?b", field()]))\"", "\"ua\":\"\(field())\"",
                "\"xff\":\"\(chance(50) ? "" : address())\"", "\"bytes\":\(number(0..<9999))", "\"extra\":\(pick(["[1,{\"a\":\"}\"}]", "null", "true", "{}"]))",
            ]
            if chance(85) { fields.append(chance(10) ? "\"msec\":\"\(time)\"" : "\"msec\":\(String(format: "%.3f", time))") }
            if chance(50) { fields.append("\"time\":\"\(ISO8601.format(Int(time)))\"") }
            fields.shuffle(using: &random)
            return "{" + fields.joined(separator: pick([",", ", ", " ,\t"])) + "}"
        }
    }

    @Test(arguments: [AccessLogFormat.combined, .combinedXFF, .common, .vhostCombined])
    func combinedLinesAgreeWithTheRegularExpression(format: AccessLogFormat) {
        var maker = Maker(random: SeededRandom(seed: 26))
        var disagreements: [String] = [], read = 0
        for _ in 0..<5_000 {
            let host = format == .vhostCombined ? maker.pick(["example.org:443 ", "www.example.org:80 ", "[::1]:80 ", " ", "x ", "\"evil\":80 ", "a.example:80 \u{301}"]) : ""
            var line = Array((host + maker.combined(xff: format == .combinedXFF)).utf8)
            if let problem = line.withUnsafeMutableBufferPointer({ ReferenceParsers.LineDifferential.check(UnsafeBufferPointer($0), format) }) {
                disagreements.append(problem)
            }
            var parser = GuardLogParser(format: format, resolver: ClientResolver())
            if parser.parse(String(decoding: line, as: UTF8.self)) != nil { read += 1 }
        }
        #expect(disagreements.isEmpty, "\(disagreements.count) disagreements, first: \(disagreements.prefix(3))")
        #expect(read > 1_000, "the generator must make mostly valid lines, made \(read)")
    }

    @Test func jsonLinesAgreeWithJSONSerialization() {
        var maker = Maker(random: SeededRandom(seed: 1026))
        var disagreements: [String] = [], read = 0
        for _ in 0..<5_000 {
            var line = Array(maker.json().utf8)
            if let problem = line.withUnsafeMutableBufferPointer({ ReferenceParsers.LineDifferential.check(UnsafeBufferPointer($0), .json) }) {
                disagreements.append(problem)
            }
            var parser = GuardLogParser(format: .json, resolver: ClientResolver())
            if parser.parse(String(decoding: line, as: UTF8.self)) != nil { read += 1 }
        }
        #expect(disagreements.isEmpty, "\(disagreements.count) disagreements, first: \(disagreements.prefix(3))")
        #expect(read > 1_000, "the generator must make mostly valid lines, made \(read)")
    }

    @Test func addressesAgreeWithInetPton() {
        var maker = Maker(random: SeededRandom(seed: 4291))
        let fixed = ["1.2.3.4", "01.2.3.4", "1.2.3.04", "255.255.255.255", "256.1.1.1", "1.2.3", "1.2.3.4.5", "::", "::1", "::ffff:1.2.3.4",
                     "fe80::1%eth0", "::3:7%\u{356}eth0", "1::2::3", "1:2:3:4:5:6:7:8:9", "12345::", "::ffff:1.2.3.04", "1:2:3:4:5:6:1.2.3.4", "", "%", ":", ":::", "::\0\0+", "1.2.3.4\0"]
        var disagreements = fixed.compactMap(ReferenceParsers.LineDifferential.checkAddress)
        for _ in 0..<20_000 {
            if let problem = ReferenceParsers.LineDifferential.checkAddress(maker.address()) { disagreements.append(problem) }
        }
        #expect(disagreements.isEmpty, "\(disagreements.count) disagreements, first: \(disagreements.prefix(5))")
    }

    /// Foundation's JSON parser takes a trailing comma; JSON and the guard do not, and the twin agrees.
    @Test func aTrailingCommaIsNotJSON() {
        let line = #"{"msec":1800000000.183,"remote_addr":"10.0.0.205","status":404,}"#
        let bytes = Array(line.utf8)
        #expect(bytes.withUnsafeBufferPointer { ReferenceParsers.LineDifferential.check($0, .json) } == nil)
        var parser = GuardLogParser(format: .json, resolver: ClientResolver())
        #expect(parser.parse(line) == nil)
        #expect(ReferenceLine.json(line) == nil)
        #expect(ReferenceLine.json(#"{"msec":1800000000.183,"remote_addr":"10.0.0.205","status":404,"uri":"/a,}"}"#) != nil, "inside a string it is text")
    }

    /// nginx takes a Host header with a quote, and `vhost_combined` writes it first: the line is
    /// still read (a quote there once hid the client's request from the guard).
    @Test func aQuoteInTheVirtualHostHidesNothing() throws {
        var parser = GuardLogParser(format: .vhostCombined, resolver: ClientResolver())
        let event = parser.parse(#""evil":80 1.2.3.4 - - [26/Nov/2026:10:00:00 +0000] "GET /wp-login.php HTTP/1.1" 404 5 "-" "curl/8""#)
        #expect(event?.status == 404)
    }

    @Test(arguments: [
        (#"{"msec":1764000000.5,"remote_addr":"1.2.3.4","status":200}"#, AccessLogFormat.json),
        (#"1.2.3.4 - - [26/Nov/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 5 "-" "curl/8""#, .combined),
        (#"1.2.3.4 - - [26/Nov/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 5 "-" "curl/8" "5.6.7.8, 9.9.9.9""#, .combinedXFF),
        (#"1.2.3.4 - - [26/Nov/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 5 "-" "curl/8" "-""#, .combinedXFF),
        (#"1.2.3.4 - - [26/Nov/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 5"#, .common),
        (#"1.2.3.4 - - [26/Nov/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 5 "-" "curl/8" "0.004""#, .combined),
        (#"example.org:443 1.2.3.4 - - [26/Nov/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 5 "-" "curl/8""#, .vhostCombined),
    ])
    func theFormatIsRecognisedFromALine(line: String, format: AccessLogFormat) {
        var bytes = Array(line.utf8)
        #expect(bytes.withUnsafeMutableBufferPointer { GuardLogParser.recognise(UnsafeBufferPointer($0)) } == format)
        var parser = GuardLogParser(format: .auto, resolver: ClientResolver())
        #expect(parser.parse("not a log line") == nil)
        #expect(parser.format == nil)
        #expect(parser.parse(line) != nil)
        #expect(parser.format == format)
    }
}
