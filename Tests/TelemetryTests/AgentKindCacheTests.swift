import EdgeRules
import Testing
import Vocabulary

@testable import Telemetry

/// The user-agent cache is keyed by the agent's bytes, not its 32-bit hash: an agent whose hash
/// equals a cached attack tool's (found here by brute force, as an attacker could) is never taken
/// for it, and the reverse.
@Suite struct AgentKindCaching {
    static func hash(_ text: String) -> UInt32 {
        var bytes = Array(text.utf8)
        return bytes.withUnsafeMutableBufferPointer { RequestClassifier.hash(UnsafeBufferPointer($0)) }
    }

    /// A `sqlmap/…` agent and a browser agent with the same FNV-1a hash.
    static func collision() -> (tool: String, browser: String)? {
        var random = SeededRandom(seed: 32)
        var tools: [UInt32: String] = [:]
        for _ in 0..<150_000 {
            let tool = "sqlmap/" + String(random.next(), radix: 36)
            tools[hash(tool)] = tool
        }
        for _ in 0..<400_000 {
            let browser = "Mozilla/5.0 (X11; Linux x86_64) Firefox/" + String(random.next(), radix: 36)
            if let tool = tools[hash(browser)] { return (tool, browser) }
        }
        return nil
    }

    @Test func agentsWithOneHashKeepTheirOwnKinds() throws {
        let (tool, browser) = try #require(Self.collision(), "a collision exists among these agents")
        #expect(Self.hash(tool) == Self.hash(browser))
        var parser = GuardLogParser(format: .combined, resolver: ClientResolver())
        func kind(_ agent: String) throws -> AgentKind {
            let event = parser.parse(#"192.0.2.1 - - [26/Nov/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 5 "-" "\#(agent)""#)
            return try #require(event).agentKind
        }
        #expect(try kind(tool) == .bad)
        #expect(try kind(browser) != .bad)
        #expect(try kind(tool) == .bad)
    }

    @Test func theCacheAgreesWithTheClassifierOnEveryAgent() {
        var cache = AgentKindCache()
        let classifier = RequestClassifier()
        var random = SeededRandom(seed: 77)
        let agents = ["", "curl/8", "sqlmap/1.8", "Googlebot/2.1", "Mozilla/5.0", String(repeating: "x", count: 300)]
        for _ in 0..<20_000 {
            var bytes = Array((agents[Int(random.next() % 6)] + (random.next() % 2 == 0 ? "" : "\(random.next() % 50)")).utf8)
            bytes.withUnsafeMutableBufferPointer { buffer in
                let agent = UnsafeBufferPointer(buffer)
                let cached = cache.kind(of: agent, hash: RequestClassifier.hash(agent)) { classifier.agentKind($0) }
                #expect(cached == classifier.agentKind(agent))
            }
        }
    }
}
