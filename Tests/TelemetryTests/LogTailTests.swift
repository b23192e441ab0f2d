import Foundation
import Testing

@testable import Telemetry
import Vocabulary

@Suite struct LogTailFollowing {
    func directory() throws -> String {
        let path = NSTemporaryDirectory() + "swiftdeploy-tail-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    func append(_ text: String, to path: String) throws {
        if !FileManager.default.fileExists(atPath: path) { FileManager.default.createFile(atPath: path, contents: nil) }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(text.utf8))
        try handle.close()
    }

    func text(_ lines: [[UInt8]]) -> [String] { lines.map { String(decoding: $0, as: UTF8.self) } }

    @Test func startsAtTheEndAndHoldsPartialLines() throws {
        let dir = try directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let log = "\(dir)/access.log"
        try append("old 1\nold 2\n", to: log)
        let tail = LogTail(path: log)
        #expect(tail.poll().isEmpty)
        try append("new 1\nnew ", to: log)
        #expect(text(tail.poll()) == ["new 1"])
        try append("2 done\n", to: log)
        #expect(text(tail.poll()) == ["new 2 done"])
    }

    @Test func waitsForAFileThatDoesNotExistYet() throws {
        let dir = try directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let log = "\(dir)/later.log"
        let tail = LogTail(path: log)
        #expect(tail.poll().isEmpty)
        try append("first\nsecond\n", to: log)
        #expect(text(tail.poll()) == ["first", "second"])
    }

    @Test func rotationByRenameLosesAndRepeatsNothing() throws {
        let dir = try directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let log = "\(dir)/access.log"
        try append("", to: log)
        let tail = LogTail(path: log)
        _ = tail.poll()
        var seen: [String] = []
        for index in 0..<3000 {
            try append("line \(index)\n", to: log)
            if index == 1500 {
                // logrotate: rename, the writer keeps writing to the old file a moment, then reopens.
                try FileManager.default.moveItem(atPath: log, toPath: "\(log).1")
                try append("line late-old\n", to: "\(log).1")
                try append("", to: log)
            }
            if index % 250 == 0 { seen += text(tail.poll()) }
        }
        seen += text(tail.poll())
        #expect(seen.count == 3001)
        #expect(Set(seen).count == 3001)
        #expect(seen.contains("line late-old"))
        #expect(seen.last == "line 2999")
    }

    @Test func copytruncateAndPlainTruncationStartOver() throws {
        let dir = try directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let log = "\(dir)/access.log"
        try append("", to: log)
        let tail = LogTail(path: log)
        _ = tail.poll()
        try append("a long line before the truncation\nanother one\n", to: log)
        #expect(text(tail.poll()) == ["a long line before the truncation", "another one"])
        // copytruncate: copy away, truncate in place, the writer continues at the start.
        try FileManager.default.copyItem(atPath: log, toPath: "\(log).1")
        try Data().write(to: URL(fileURLWithPath: log))
        try append("after\n", to: log)
        #expect(text(tail.poll()) == ["after"])
    }

    @Test func aBacklogComesInSlicesAndEachPollSaysWhetherMoreWaits() throws {
        let dir = try directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let log = "\(dir)/access.log"
        let line = String(repeating: "x", count: 999) + "\n"
        let count = LogTail.maxRead / 1000 * 2 + 10
        try append(String(repeating: line, count: count), to: log)
        let tail = LogTail(path: log, startAtEnd: false)
        #expect(tail.reachedEnd && tail.backlog == 0, "nothing read, nothing open yet")
        var slices: [Int] = []
        repeat { slices.append(tail.poll().count) } while !tail.reachedEnd && slices.count < 10
        #expect(slices.count == 3, "two full slices, then the rest: \(slices)")
        #expect(slices.reduce(0, +) == count)
        #expect(tail.backlog == 0)
        try append(line, to: log)
        #expect(tail.backlog == 1000)
        #expect(tail.poll().count == 1 && tail.reachedEnd)
    }

    @Test func resumesFromASavedPositionOnlyInTheSameFile() throws {
        let dir = try directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let log = "\(dir)/access.log"
        try append("one\ntwo\n", to: log)
        let first = LogTail(path: log, startAtEnd: false)
        #expect(text(first.poll()) == ["one", "two"])
        let saved = try #require(first.position)
        try append("three\n", to: log)
        #expect(text(LogTail(path: log, resume: saved).poll()) == ["three"])
        // Another file with another inode: the saved offset means nothing there.
        try FileManager.default.removeItem(atPath: log)
        try append("x\ny\n", to: "\(dir)/other")
        try FileManager.default.moveItem(atPath: "\(dir)/other", toPath: log)
        #expect(text(LogTail(path: log, startAtEnd: false, resume: saved).poll()) == ["x", "y"])
    }
}

@Suite struct GuardLineParsing {
    @Test func jsonAndCombinedGiveTheSameEvent() throws {
        var json = GuardLogParser(format: .json, resolver: ClientResolver())
        var combined = GuardLogParser(format: .combined, resolver: ClientResolver())
        let parsedA = json.parse(#"{"msec":1767268807.000,"remote_addr":"203.0.113.9","method":"GET","uri":"/.env?x=\"b\"","status":404,"ua":"curl/8"}"#)
        let parsedB = combined.parse(#"203.0.113.9 - - [01/Jan/2026:12:00:07 +0000] "GET /.env?x=\"b\" HTTP/1.1" 404 12 "-" "curl/8""#)
        let a = try #require(parsedA)
        let b = try #require(parsedB)
        #expect(a == b)
        #expect(a.isError)
        #expect(a.isProbe)
        #expect(a.agentKind == .scripted)
        #expect(a.kind == .page)
    }

    @Test func requestsAreClassifiedOnce() throws {
        var parser = GuardLogParser(format: .combined, resolver: ClientResolver())
        func event(_ request: String, _ status: Int = 200, agent: String = "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0") throws -> ClientEvent {
            let parsed = parser.parse("198.51.100.4 - - [26/Nov/2026:02:30:00 +0100] \"\(request)\" \(status) 10 \"-\" \"\(agent)\"")
            return try #require(parsed)
        }
        #expect(try event("GET /static/app.9f3c.JS?v=2 HTTP/2.0").kind == .asset)
        #expect(try event("GET /fonts/x.woff2 HTTP/2.0").kind == .asset)
        #expect(try event("GET /blog/2026/11/why.html HTTP/2.0").kind == .page)
        #expect(try event("GET /api/items HTTP/1.1").kind == .page)
        #expect(try event("GET /login HTTP/1.1").kind == .page, "viewing the login form is a page")
        #expect(try event("POST /login HTTP/1.1", 401).kind == .login)
        #expect(try event("POST /login HTTP/1.1", 401).isLoginFailure)
        #expect(try event("POST /login?next=/ HTTP/1.1", 302).isLoginFailure == false, "a redirect is a successful login")
        #expect(try event("POST /loginhelp HTTP/1.1").kind == .page)
        #expect(try event("GET /wp-login.php HTTP/1.1", 404).isProbe)
        #expect(try event("GET /missing.html HTTP/1.1", 404).isProbe == false)
        #expect(try event("GET / HTTP/1.1", agent: "Mozilla/5.0 (compatible; Googlebot/2.1)").agentKind == .crawler)
        #expect(try event("GET / HTTP/1.1", agent: "sqlmap/1.7").agentKind == .bad)
        #expect(try event("GET / HTTP/1.1", agent: "").agentKind == .scripted)
        // A person's browser, as cohorts need to tell it apart (issue 30); bots that borrow the prefix are not.
        #expect(try event("GET / HTTP/1.1", agent: "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0").agentKind == .browser)
        #expect(try event("GET / HTTP/1.1", agent: "MOZILLA/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) Safari/604.1").agentKind == .browser)
        #expect(try event("GET / HTTP/1.1", agent: "Mozilla/5.0 (compatible; DataFetcher/1.0)").agentKind == .other)
        #expect(try event("GET / HTTP/1.1", agent: "Mozilla/5.0 (Linux) AhrefsBot-like Spider").agentKind == .other)
        #expect(try event("GET / HTTP/1.1", agent: "git/2.43.0").agentKind == .other)
        let time = try event("GET / HTTP/1.1").timestamp
        #expect(time == ISO8601.seconds("2026-11-26T02:30:00+01:00"))
    }

    @Test func forwardedForIsBelievedOnlyFromTrustedProxies() throws {
        var parser = GuardLogParser(format: .json, resolver: ClientResolver(trustedProxies: [CIDR("10.0.0.0/8")!]))
        let proxied = parser.parse(#"{"msec":1795687200,"remote_addr":"10.0.0.2","xff":"198.51.100.7, 10.0.0.9","status":200}"#)
        let viaProxy = try #require(proxied)
        #expect(viaProxy.client == IPAddress("198.51.100.7"))
        let direct = parser.parse(#"{"msec":1795687200,"remote_addr":"203.0.113.9","xff":"1.2.3.4","status":200}"#)
        let spoofed = try #require(direct)
        #expect(spoofed.client == IPAddress("203.0.113.9"))
        var v6 = GuardLogParser(format: .json, resolver: ClientResolver(ipv6Prefix: 64))
        let grouped = v6.parse(#"{"msec":1795687200,"remote_addr":"2001:db8:1:2:aaaa::1","status":200}"#)
        #expect(grouped?.client == IPAddress("2001:db8:1:2::"))
    }

    @Test func onePercentMalformedLinesAreCountedAndSampled() {
        var parser = GuardLogParser(format: .json, resolver: ClientResolver())
        var events = 0
        for index in 0..<1000 {
            let line = index % 100 == 42 ? "garbage \(index) {" : #"{"msec":\#(1_795_687_200 + index),"remote_addr":"192.0.2.\#(index % 200 + 1)","status":200}"#
            if parser.parse(line) != nil { events += 1 }
        }
        #expect(events == 990)
        #expect(parser.lines == 1000)
        #expect(parser.badLines == 10)
        #expect(parser.badSamples.count == 5)
        #expect(parser.badSamples.last == "garbage 942 {")
    }
}
