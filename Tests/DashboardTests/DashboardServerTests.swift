@testable import Dashboard
import Foundation
import Detection
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Telemetry
import TestSupport
import Testing
import Vocabulary

/// What the server shows and does, through its real router; the data comes from a fixed source
/// (the guard daemon that feeds it in production is tested end to end with a real browser).
final class FixedSource: DashboardSource, @unchecked Sendable {
    private let lock = NSLock()
    var snapshot: GuardSnapshot
    var deployView: DeployView?
    let guardMetrics = GuardMetrics()
    private(set) var unbanned: [BanTarget] = []

    init() {
        snapshot = GuardSnapshot(at: 1_800_000_100, startedAt: 1_800_000_000, enforcer: "dry-run", log: "/var/log/nginx/access.log")
        snapshot.lines = 1234
        snapshot.badLines = 2
        snapshot.badSamples = [#"<script>alert("x")</script> \ "quoted""#]
        snapshot.globalRPS = 12.5
        snapshot.baseline = Baseline.Summary(mean: 10, stddev: 2, errorRate: 0.01, points: 1800, source: "rolling")
        snapshot.bans = [GuardSnapshot.Ban(BanBook.Ban(ip: IPAddress("203.0.113.9")!, since: 1_800_000_050, until: 1_800_000_650,
                                                        offence: 1, reason: "z=7.10"))]
        snapshot.bansTotal = [.zScore: 3, .manual: 1]
        snapshot.cohorts = [GuardSnapshot.Cohort(CohortWatch.Finding(key: CohortKey(level: .v4Slash24, value: 0xC63364), since: 1_800_000_060,
                                                                     lastSeen: 1_800_000_090, addresses: 9, naked: 8, nakedPages: 20, normalShare: 0.05))]
        snapshot.logFormat = "auto, recognised as combined"
        snapshot.badLinesRatio = 0.25
        snapshot.readingProblem = "In the last minute, 25 of 100 lines (25.0%) do not parse as combined (recognised from the log): set guard.log_format …"
        (snapshot.lateLines, snapshot.staleLines, snapshot.clockSteps) = (7, 3, 1)
        (snapshot.backlogBytes, snapshot.lagSeconds) = (4096, 0.75)
        guardMetrics.observeDetection(seconds: 0.012)
        guardMetrics.observeDetection(seconds: 0.3)
        deployView = DeployView(tracks: [.init(track: "canary", version: "1.1.0\"x", healthy: true, weight: 10, rps: 2.5, errorRate: 0.2, p99MS: 480)],
                                policies: [.init(policy: "canary_safety", allow: false, reasons: ["error rate 20% > 5%"])])
    }

    func guardSnapshot() -> GuardSnapshot { lock.withLock { snapshot } }
    func host() -> HostView { HostView(load: 0.5, cores: 2, memUsedPct: 40) }
    func deploy() async -> DeployView? { lock.withLock { deployView } }
    func history(since second: Int) throws -> DashboardHistory {
        DashboardHistory(seconds: [Baseline.Second(second: second + 1, requests: 9, errors: 0)], recalcs: [], hours: [.init(hour: 8, mean: 9.5, points: 3600)])
    }
    func unban(_ target: BanTarget) throws { lock.withLock { unbanned.append(target) } }
    var unbans: [BanTarget] { lock.withLock { unbanned } }
}

@Suite struct DashboardServerTests {
    func app(_ source: FixedSource, token: String? = nil, loopback: Bool = true, maxStreams: Int = 64) -> some ApplicationProtocol {
        Application(router: DashboardServer(name: "shop", source: source, access: DashboardAccess(token: token, loopbackOnly: loopback),
                                            maxStreams: maxStreams).router())
    }

    @Test func pageAndAssetsAreServedWithAStrictPolicy() async throws {
        try await app(FixedSource()).test(.router) { client in
            var weight = 0
            for (path, type) in [("/", "text/html"), ("/app.js", "text/javascript"), ("/app.css", "text/css")] {
                try await client.execute(uri: path, method: .get) { response in
                    #expect(response.status == .ok)
                    #expect(response.headers[.contentType]?.hasPrefix(type) == true)
                    #expect(response.headers[.contentSecurityPolicy]?.contains("script-src 'self';") == true)
                    #expect(!(response.headers[.contentSecurityPolicy] ?? "").contains("unsafe-inline"))
                    let body = String(buffer: response.body)
                    #expect(!body.contains("http://") && !body.contains("https://"), "\(path) fetches nothing from elsewhere")
                    weight += response.body.readableBytes
                    if path == "/" { #expect(body.contains(#"<div id="reading" class="banner" role="alert" hidden>"#), "the banner for an unreadable log") }
                }
            }
            #expect(weight < 30_000, "the whole page weighs \(weight) bytes")
        }
    }

    @Test func stateIsJSONWithLogStringsAsPlainEscapedText() async throws {
        try await app(FixedSource()).test(.router) { client in
            try await client.execute(uri: "/api/state", method: .get) { response in
                #expect(response.headers[.contentType] == "application/json")
                let object = try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as! [String: Any]
                let guardState = object["guard"] as! [String: Any]
                #expect(guardState["badSamples"] as? [String] == [#"<script>alert("x")</script> \ "quoted""#], "round-trips exactly")
                #expect((guardState["readingProblem"] as? String)?.hasPrefix("In the last minute, 25 of 100 lines") == true, "the banner's text")
                #expect(guardState["lagSeconds"] as? Double == 0.75 && guardState["backlogBytes"] as? Int == 4096)
                #expect((guardState["bans"] as! [[String: Any]]).first?["ip"] as? String == "203.0.113.9")
                #expect(((object["deploy"] as! [String: Any])["policies"] as! [[String: Any]]).first?["allow"] as? Bool == false)
            }
            try await client.execute(uri: "/api/bans", method: .get) { response in
                let bans = try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as! [[String: Any]]
                #expect(bans.count == 1 && bans[0]["until"] as? Int == 1_800_000_650 && bans[0]["offence"] as? Int == 1)
            }
            try await client.execute(uri: "/api/history?minutes=30", method: .get) { response in
                let history = try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as! [String: Any]
                #expect((history["seconds"] as! [[String: Any]]).first?["requests"] as? Int == 9)
                #expect((history["hours"] as! [[String: Any]]).first?["hour"] as? Int == 8)
            }
        }
    }

    /// The shipped Grafana dashboard asks only for series (and labels) the guard's /metrics has:
    /// a renamed metric breaks this test, not the operator's dashboard.
    @Test func grafanaDashboardQueriesSeriesThatExist() async throws {
        let source = FixedSource()
        var shared = GuardSnapshot.Shared(edge: "a", connected: true, pending: 0, problem: nil,
                                          edges: [EdgeStatus(edge: "a", heartbeat: 1_800_000_099, linesPerSecond: 10, bans: 1)])
        shared.siteRPS = 30
        shared.siteBaseline = Baseline.Summary(mean: 28, stddev: 3, errorRate: 0, points: 1800, source: "rolling")
        source.snapshot.shared = shared
        let dashboard = try GrafanaDashboard.load()
        #expect(Set(dashboard.panels.map(\.id)).count == dashboard.panels.count, "panel ids are unique")
        try await app(source).test(.router) { client in
            try await client.execute(uri: "/metrics", method: .get) { response in
                let text = try PrometheusText(parsing: String(buffer: response.body))
                var checked = 0
                for (panel, target) in dashboard.queries {
                    let series = GrafanaDashboard.series(in: target.expr, prefixes: ["guard_", "swiftdeploy_"])
                    for name in series {
                        #expect(!text.matching(name).isEmpty, "\(panel): \(name) is not in /metrics")
                        checked += 1
                    }
                    for label in GrafanaDashboard.labels(in: target.legendFormat) where !series.isEmpty {
                        #expect(series.contains { text.matching($0).contains { $0.labels[label] != nil } }, "\(panel): no series has the label \(label)")
                    }
                }
                #expect(checked >= 20, "the guard's and the deploy side's panels were checked (\(checked) series)")
            }
        }
    }

    @Test func metricsAreValidExpositionWithEveryNamedSeries() async throws {
        try await app(FixedSource()).test(.router) { client in
            try await client.execute(uri: "/metrics", method: .get) { response in
                let text = String(buffer: response.body)
                for line in [
                    "guard_lines_total 1234", "guard_bad_lines_total 2", "guard_bans_active 1.0", "guard_cohorts_flagged 1.0", "guard_cohort_naked_addresses 8.0", #"guard_bans_total{reason="z_score"} 3"#,
                    #"guard_bans_total{reason="manual"} 1"#, #"guard_bans_total{reason="multiplier"} 0"#, "guard_global_rps 12.5",
                    "guard_baseline_mean 10.0", "guard_baseline_stddev 2.0", #"guard_detection_latency_seconds_bucket{le="0.025"} 1"#,
                    #"guard_detection_latency_seconds_bucket{le="0.5"} 2"#, #"guard_detection_latency_seconds_bucket{le="+Inf"} 2"#,
                    "guard_detection_latency_seconds_count 2", #"swiftdeploy_track_error_rate{track="canary",version="1.1.0\"x"} 0.2"#,
                    #"swiftdeploy_track_p99_latency_seconds{track="canary",version="1.1.0\"x"} 0.48"#,
                    #"swiftdeploy_policy_allow{policy="canary_safety"} 0.0"#, "guard_bad_lines_ratio 0.25", "guard_late_lines_total 7",
                    "guard_stale_lines_total 3", "guard_clock_steps_total 1", "guard_log_backlog_bytes 4096.0", "guard_log_lag_seconds 0.75",
                ] {
                    #expect(text.split(separator: "\n").contains(Substring(line)), "missing: \(line)")
                }
                // Every sample line is NAME{labels} VALUE, every family is typed before its samples.
                var typed: Set<String> = []
                for line in text.split(separator: "\n") {
                    if line.hasPrefix("# TYPE ") { typed.insert(String(line.split(separator: " ")[2])); continue }
                    if line.hasPrefix("#") { continue }
                    let name = String(line.prefix { $0 != "{" && $0 != " " })
                    let family = ["_bucket", "_sum", "_count"].reduce(name) { $0.hasSuffix($1) && typed.contains(String($0.dropLast($1.count))) ? String($0.dropLast($1.count)) : $0 }
                    #expect(typed.contains(family), "\(name) has a TYPE line before it")
                    #expect(Double(line.split(separator: " ").last!) != nil || line.hasSuffix(" NaN"), "\(line)")
                }
            }
        }
    }

    /// Each open page holds a descriptor of the root guard: past the limit a page is refused, and a
    /// page that goes away gives its place back.
    @Test func openPagesAreLimitedAndTheirPlacesComeBack() async throws {
        try await app(FixedSource(), maxStreams: 0).test(.router) { client in
            try await client.execute(uri: "/api/events", method: .get) { response in
                #expect(response.status == .serviceUnavailable)
            }
        }
        let slots = DashboardServer.StreamSlots(limit: 2)
        #expect(slots.take() && slots.take() && !slots.take())
        slots.release()
        #expect(slots.take() && slots.open == 2)
    }

    @Test func eventsStreamTheStateAsServerSentEvents() async throws {
        let source = FixedSource()
        try await app(source).test(.live) { client in
            // Live, so the stream really is a stream: read its first event and go away.
            let (bytes, _) = try await EventStreamReader.firstEvent(port: client.port!)
            #expect(bytes.hasPrefix("data: {"))
            #expect(bytes.contains("\"globalRPS\":12.5"))
            #expect(bytes.hasSuffix("\n\n"))
        }
    }

    @Test func onLoopbackReadingIsOpenButUnbanNeedsTheToken() async throws {
        let source = FixedSource()
        try await app(source, token: nil).test(.router) { client in
            try await client.execute(uri: "/api/unban", method: .post, headers: [.contentType: "application/json"],
                                     body: ByteBuffer(string: #"{"ip":"203.0.113.9"}"#)) { response in
                #expect(response.status == .forbidden)
                #expect(String(buffer: response.body).contains("set dashboard.token"))
            }
        }
        try await app(source, token: "s3cret").test(.router) { client in
            try await client.execute(uri: "/api/state", method: .get) { #expect($0.status == .ok) }
            try await client.execute(uri: "/api/unban", method: .post, body: ByteBuffer(string: #"{"ip":"203.0.113.9"}"#)) { response in
                #expect(response.status == .unauthorized)
            }
            try await client.execute(uri: "/api/unban", method: .post, headers: [.authorization: "Bearer wrong"],
                                     body: ByteBuffer(string: #"{"ip":"203.0.113.9"}"#)) { #expect($0.status == .unauthorized) }
            try await client.execute(uri: "/api/unban", method: .post, headers: [.authorization: "Bearer s3cret"],
                                     body: ByteBuffer(string: #"{"ip":"not-an-ip"}"#)) { #expect($0.status == .badRequest) }
            try await client.execute(uri: "/api/unban", method: .post, headers: [.authorization: "Bearer s3cret"],
                                     body: ByteBuffer(string: #"{"ip":"203.0.113.9"}"#)) { #expect($0.status == .accepted) }
        }
        #expect(source.unbans == [BanTarget("203.0.113.9")!])
    }

    @Test func beyondLoopbackEverythingNeedsTheTokenOrALoginCookie() async throws {
        let source = FixedSource()
        try await app(source, token: "s3cret", loopback: false).test(.router) { client in
            try await client.execute(uri: "/api/state", method: .get) { response in
                #expect(response.status == .unauthorized)
                #expect(response.headers[.wwwAuthenticate] == "Bearer")
            }
            try await client.execute(uri: "/metrics", method: .get) { #expect($0.status == .unauthorized) }
            try await client.execute(uri: "/", method: .get) { response in
                #expect(response.status == .seeOther && response.headers[.location] == "/login")
            }
            try await client.execute(uri: "/login", method: .get) { #expect($0.status == .ok) }
            try await client.execute(uri: "/metrics", method: .get, headers: [.authorization: "Bearer s3cret"]) { #expect($0.status == .ok) }
            try await client.execute(uri: "/login", method: .post, headers: [.contentType: "application/x-www-form-urlencoded"],
                                     body: ByteBuffer(string: "token=nope")) { #expect($0.status == .unauthorized) }
            var cookie = ""
            try await client.execute(uri: "/login", method: .post, headers: [.contentType: "application/x-www-form-urlencoded"],
                                     body: ByteBuffer(string: "token=s3cret")) { response in
                #expect(response.status == .seeOther)
                let setCookie = response.headers[.setCookie] ?? ""
                #expect(setCookie.contains("HttpOnly") && setCookie.contains("SameSite=Strict"))
                cookie = String(setCookie.prefix { $0 != ";" })
            }
            try await client.execute(uri: "/api/state", method: .get, headers: [.cookie: cookie]) { #expect($0.status == .ok) }
            // The cookie alone (what a cross-site form would carry) never acts; with the page's header it does.
            try await client.execute(uri: "/api/unban", method: .post, headers: [.cookie: cookie],
                                     body: ByteBuffer(string: #"{"ip":"203.0.113.9"}"#)) { #expect($0.status == .unauthorized) }
            try await client.execute(uri: "/api/unban", method: .post, headers: [.cookie: cookie, HTTPField.Name("X-SwiftDeploy-Action")!: "unban"],
                                     body: ByteBuffer(string: #"{"ip":"203.0.113.9"}"#)) { #expect($0.status == .accepted) }
        }
        #expect(source.unbans.count == 1)
    }
}

/// Reads the first server-sent event from a live server over a plain socket.
enum EventStreamReader {
    static func firstEvent(port: Int) async throws -> (String, Int) {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
                defer { close(fd) }
                var address = sockaddr_in()
                address.sin_family = sa_family_t(AF_INET)
                address.sin_port = in_port_t(UInt16(port).bigEndian)
                address.sin_addr.s_addr = inet_addr("127.0.0.1")
                var timeout = timeval(tv_sec: 5, tv_usec: 0)
                setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
                let connected = withUnsafePointer(to: &address) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
                }
                guard connected == 0 else { continuation.resume(throwing: POSIXError(.ECONNREFUSED)); return }
                let request = "GET /api/events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
                _ = request.withCString { send(fd, $0, strlen($0), 0) }
                var received = [UInt8]()
                var buffer = [UInt8](repeating: 0, count: 65536)
                while true {
                    let count = recv(fd, &buffer, buffer.count, 0)
                    if count <= 0 { break }
                    received += buffer[0..<count]
                    let text = String(decoding: received, as: UTF8.self)
                    if let start = text.range(of: "data: "), let end = text.range(of: "\n\n", range: start.upperBound..<text.endIndex) {
                        continuation.resume(returning: (String(text[start.lowerBound..<end.upperBound]), received.count))
                        return
                    }
                }
                continuation.resume(throwing: POSIXError(.ETIMEDOUT))
            }
        }
    }
}

/// DNS rebinding: a page elsewhere that points its own name at 127.0.0.1 reaches a loopback
/// dashboard, but its requests name that host; only loopback names are answered.
@Suite struct LoopbackHostNames {
    @Test(arguments: [("localhost:9090", true), ("127.0.0.1:9090", true), ("127.0.0.1", true), ("[::1]:9090", true), ("LOCALHOST", true),
                      ("evil.example:9090", false), ("127.evil.example", false), ("10.0.0.1:9090", false), ("", false)])
    func onlyLoopbackNames(host: String, answered: Bool) {
        #expect(DashboardAccess(token: nil, loopbackOnly: true).isLoopbackHost(host.isEmpty ? nil : host) == answered)
        #expect(DashboardAccess(token: "0123456789abcdef", loopbackOnly: false).isLoopbackHost(host), "beyond loopback the token guards instead")
    }
}

/// A clock the test moves by hand.
final class ManualClock: @unchecked Sendable {
    private let lock = NSLock()
    private var current = ContinuousClock.now
    var now: ContinuousClock.Instant { lock.withLock { current } }
    func advance(_ by: Duration) { lock.withLock { current += by } }
}

@Suite struct DashboardSessions {
    let token = "0123456789abcdef0123"

    @Test func aSessionLastsItsLifetimeThenIsGone() throws {
        let clock = ManualClock()
        let access = DashboardAccess(token: token, loopbackOnly: false, sessionLifetime: .seconds(3600), now: { clock.now })
        guard case .session(let id) = access.login(token: token, from: "192.0.2.1") else { Issue.record("no session"); return }
        #expect(access.mayRead(authorization: nil, cookie: id, from: "192.0.2.1") == .allowed)
        clock.advance(.seconds(3599))
        #expect(access.mayRead(authorization: nil, cookie: id, from: "192.0.2.1") == .allowed)
        clock.advance(.seconds(2))
        #expect(access.mayRead(authorization: nil, cookie: id, from: "192.0.2.1") == .unauthorized)
        #expect(access.cookieAttributes == "Path=/; HttpOnly; SameSite=Strict; Max-Age=3600; Secure")
    }

    @Test func fiveWrongTokensCloseTheFormForAMinute() {
        let clock = ManualClock()
        let access = DashboardAccess(token: token, loopbackOnly: true, now: { clock.now })
        for _ in 0..<5 { #expect(access.login(token: "guess", from: "192.0.2.1") == .wrongToken) }
        // Even the right token is not compared while closed.
        #expect(access.login(token: token, from: "192.0.2.1") == .throttled(retryAfter: .seconds(60)))
        clock.advance(.seconds(30))
        #expect(access.login(token: token, from: "192.0.2.1") == .throttled(retryAfter: .seconds(30)))
        clock.advance(.seconds(31))
        guard case .session = access.login(token: token, from: "192.0.2.1") else { Issue.record("the form stayed closed"); return }
        #expect(!access.cookieAttributes.contains("Secure"), "plain HTTP on loopback")
    }

    /// A guesser locks out only itself: the owner at another address logs in and reads with the
    /// bearer token meanwhile, and bearer guesses are throttled as form guesses are.
    @Test func aGuesserLocksOutOnlyItselfAndBearerGuessesCount() {
        let clock = ManualClock()
        let access = DashboardAccess(token: token, loopbackOnly: false, now: { clock.now })
        for _ in 0..<3 { #expect(access.login(token: "guess", from: "198.51.100.7") == .wrongToken) }
        for _ in 0..<2 { #expect(access.mayRead(authorization: "Bearer guess", cookie: nil, from: "198.51.100.7") == .unauthorized) }
        #expect(access.mayRead(authorization: "Bearer \(token)", cookie: nil, from: "198.51.100.7") == .throttled(retryAfter: .seconds(60)),
                "the right token is not even compared once five guesses came")
        #expect(access.mayAct(authorization: "Bearer \(token)", cookie: nil, actionHeader: nil, from: "198.51.100.7") == .throttled(retryAfter: .seconds(60)))
        #expect(access.mayRead(authorization: "Bearer \(token)", cookie: nil, from: "192.0.2.1") == .allowed, "the owner elsewhere reads")
        guard case .session = access.login(token: token, from: "192.0.2.1") else { Issue.record("the owner was locked out"); return }
        // Many guessing addresses cost bounded memory and each still gets only five guesses.
        for index in 0..<(LoginThrottle.capacity + 100) { _ = access.login(token: "guess", from: "10.\(index / 65536).\(index / 256 % 256).\(index % 256)") }
        clock.advance(.seconds(61))
        #expect(access.mayRead(authorization: "Bearer \(token)", cookie: nil, from: "198.51.100.7") == .allowed, "a minute later it may try again")
    }
}
