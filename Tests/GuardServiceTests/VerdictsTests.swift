import Foundation
import Detection
import TestSupport
import Testing
import Vocabulary

@testable import GuardService

/// `guard replay --verdicts`: one JSON object per input line, in order, an unreadable line included,
/// and a swarm's later requests challenged with their cohort named.
@Suite struct ReplayVerdicts {
    static let firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"

    static func line(_ address: String, _ second: Int, _ path: String, agent: String = firefox) -> String {
        let minute = second / 60, rest = second % 60
        return "\(address) - - [01/Jun/2027:00:\(String(format: "%02d:%02d", minute, rest)) +0000] \"GET \(path) HTTP/1.1\" 200 512 \"-\" \"\(agent)\""
    }

    @Test func everyLineGetsItsVerdictInOrder() throws {
        var lines: [String] = []
        for index in 0..<200 {
            let address = "172.\(16 + index % 10).\(index / 10).9"
            lines += [Self.line(address, index % 50, "/read/\(index)"), Self.line(address, index % 50, "/static/site.css")]
        }
        for host in 1...8 { lines.append(Self.line("198.51.100.\(host)", 50 + host, "/repo/blame/\(host)")) }
        lines.append("this is not an access log line")
        lines.append(Self.line("172.16.0.9", 70, "/read/again"))  // a minute on: the look
        for host in 1...8 { lines.append(Self.line("198.51.100.\(host)", 80 + host, "/repo/commit/\(host)")) }
        lines.append(Self.line("198.51.100.77", 95, "/repo/tree/1", agent: "git/2.43.0"))
        let log = NSTemporaryDirectory() + "verdicts-\(UUID().uuidString.prefix(8)).log"
        try lines.joined(separator: "\n").write(toFile: log, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: log) }
        let console = BufferConsole()
        let counts = try GuardVerdictsUseCase(replay: GuardReplayUseCase(console: console)).run(log: log, format: .combined, owners: NetworkOwners())
        let objects = try console.said.flatMap { $0.split(separator: "\n") }.filter { $0.hasPrefix("{") }.map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        #expect(objects.count == lines.count)
        #expect(objects.map { $0["line"] as? Int } == Array(1...lines.count), "one per line, in order")
        let unreadable = objects[408]
        #expect(unreadable["verdict"] is NSNull && (unreadable["problem"] as? String)?.contains("does not parse") == true)
        let swarm = objects[410..<418]
        #expect(swarm.allSatisfy { $0["verdict"] as? String == "challenge" }, "\(swarm)")
        #expect(swarm.allSatisfy { ($0["cohort"] as? [String: Any])?["key"] as? String == "198.51.100.0/24" })
        #expect(objects.last?["verdict"] as? String == "pass", "a git client is never challenged")
        #expect(counts[.challenge] == 8 && counts[.pass] == lines.count - 9)
    }
}
