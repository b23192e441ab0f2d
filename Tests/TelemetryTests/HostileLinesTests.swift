import Foundation
import Testing
import Vocabulary

@testable import Telemetry

/// Log lines written by strangers: what they may set (`$remote_user` through `Authorization: Basic`,
/// the user agent, `msec` in a forged JSON line) never moves the guard's clock, never names another
/// client and never stops the process.
@Suite struct HostileLines {
    let proxy = CIDR("10.0.0.1/32")!

    func parse(_ line: String, _ format: AccessLogFormat = .combined, trusting: [CIDR] = []) -> ClientEvent? {
        var parser = GuardLogParser(format: format, resolver: ClientResolver(trustedProxies: trusting))
        return parser.parse(line)
    }

    /// 2026-11-26T10:00:00Z.
    let realTime = 1_795_687_200.0

    @Test(arguments: [
        "[01/Jan/9999:00:00:00 +0000]",  // a whole forged time
        "[01/Jan/9999:00:00:00",         // half of one, then nginx's
        "a b [01/Jan/1969:00:00:00 +0000] c",
        "]",
    ])
    func aForgedTimeInTheUserFieldIsNeverRead(user: String) throws {
        let event = try #require(parse(#"203.0.113.9 - \#(user) [26/Nov/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 5 "-" "curl/8""#))
        #expect(event.timestamp == realTime)
        #expect(event.client == IPAddress("203.0.113.9"))
    }

    @Test func theUserAgentIsNeverTheForwardedFor() throws {
        let line = #"10.0.0.1 - - [26/Nov/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 5 "-" "198.51.100.7""#
        #expect(try #require(parse(line, trusting: [proxy])).client == IPAddress("10.0.0.1"))
        // Plain combined with a third quoted field of some other meaning: still not XFF.
        #expect(try #require(parse(line + #" "198.51.100.8""#, trusting: [proxy])).client == IPAddress("10.0.0.1"))
        // combined_xff reads its last field, from a trusted proxy only.
        #expect(try #require(parse(line + #" "198.51.100.8""#, .combinedXFF, trusting: [proxy])).client == IPAddress("198.51.100.8"))
        #expect(try #require(parse(line + #" "198.51.100.8""#, .combinedXFF)).client == IPAddress("10.0.0.1"))
    }

    @Test(arguments: ["253402300800", "-1", "0", "1e400", "-1e400"])
    func implausibleTimesAreMalformed(msec: String) {
        var parser = GuardLogParser(format: .json, resolver: ClientResolver())
        #expect(parser.parse(#"{"msec":\#(msec),"remote_addr":"203.0.113.9","status":200}"#) == nil)
        #expect(parser.badLines == 1)
    }

    @Test(arguments: ["1e400", "-1e400", "200.5", "1e19"])
    func statusesThatAreNotIntegersAreMalformed(status: String) {
        var parser = GuardLogParser(format: .json, resolver: ClientResolver())
        #expect(parser.parse(#"{"msec":1795687200,"remote_addr":"203.0.113.9","status":\#(status)}"#) == nil)
        #expect(JSONLogLine.parse(#"{"msec":1795687200,"status":\#(status),"bytes":1}"#) == nil)
        #expect(JSONLogLine.parse(#"{"msec":1795687200,"status":200,"bytes":\#(status)}"#) == nil)
    }
}
