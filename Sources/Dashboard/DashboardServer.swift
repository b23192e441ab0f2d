import Foundation
import Synchronization
import Detection
import HTTPTypes
import Hummingbird
import Logging
import ServiceLifecycle
import NIOCore
import Telemetry
import Vocabulary

/// The guard's web dashboard: one page (assets compiled in, nothing fetched from elsewhere), live
/// over server-sent events, a JSON API under `/api`, and Prometheus `/metrics`. The state is built
/// once a second while anyone reads, whatever the number of open pages, so ten dashboards cost
/// what one does, and none costs nothing.
public final class DashboardServer: Sendable {
    public let name: String
    public let source: any DashboardSource
    public let access: DashboardAccess
    private let cache = Cache()
    /// Seconds between two updates of the state and of every open page.
    public let interval: Duration
    /// Pages following the events at once, at most: each holds a connection, a descriptor of the
    /// root guard process, which `nft` needs too.
    let streams: StreamSlots
    /// Connections at once, per address, and the time to send a request head.
    public let limits: ConnectionLimits

    public init(name: String, source: any DashboardSource, access: DashboardAccess, interval: Duration = .seconds(1), maxStreams: Int = 64,
                limits: ConnectionLimits.Settings = .init()) {
        self.name = name
        self.source = source
        self.access = access
        self.interval = interval
        streams = StreamSlots(limit: maxStreams)
        self.limits = ConnectionLimits(limits)
    }

    /// A counter of open event streams with a limit.
    final class StreamSlots: Sendable {
        let limit: Int
        private let taken = Mutex(0)

        init(limit: Int) { self.limit = limit }

        var open: Int { taken.withLock { $0 } }

        /// Takes a slot; false when all are taken.
        func take() -> Bool {
            taken.withLock { open in
                guard open < limit else { return false }
                open += 1
                return true
            }
        }
        func release() { taken.withLock { $0 = max(0, $0 - 1) } }
    }

    // MARK: - State

    final class Cache: @unchecked Sendable {
        private let lock = NSLock()
        private var state: DashboardState?
        private var json = ByteBuffer()
        private var version = 0
        private var closing = false
        private var refreshed = ContinuousClock.now
        private var watched: ContinuousClock.Instant?

        func set(_ state: DashboardState, _ json: ByteBuffer) {
            lock.withLock { (self.state, self.json, version, refreshed) = (state, json, version + 1, .now) }
        }
        var current: (state: DashboardState?, json: ByteBuffer, version: Int) { lock.withLock { (state, json, version) } }
        /// When the state was last built.
        var age: Duration { lock.withLock { .now - refreshed } }
        /// Someone reads: a page following the events, an API call, a scrape.
        func watch() { lock.withLock { watched = .now } }
        /// Whether anyone read in the last few seconds (else building the state is wasted work).
        var isWatched: Bool { lock.withLock { watched.map { .now - $0 < .seconds(3) } ?? false } }
        /// Set at shutdown, so open event streams end and the server can finish.
        var isClosing: Bool {
            get { lock.withLock { closing } }
            set { lock.withLock { closing = newValue } }
        }
    }

    static let encoder = JSONEncoder.sorted

    /// Builds the state now and keeps it (with its JSON) for every reader until the next refresh.
    @discardableResult
    public func refresh() async -> DashboardState {
        let state = DashboardState(name: name, serverTime: Date().timeIntervalSince1970, guardState: source.guardSnapshot(),
                                   host: source.host(), deploy: await source.deploy())
        let data = (try? Self.encoder.encode(state)) ?? Data("{}".utf8)
        cache.set(state, ByteBuffer(bytes: data))
        return state
    }

    /// The state at most one `interval` old, built now when nobody kept it fresh.
    func currentState() async -> (state: DashboardState, json: ByteBuffer) {
        cache.watch()
        let cached = cache.current
        if let state = cached.state, cache.age <= interval { return (state, cached.json) }
        let state = await refresh()
        return (state, cache.current.json)
    }

    /// Refreshes every `interval` while anyone is reading, until cancelled.
    func refreshLoop() async {
        while !Task.isCancelled {
            if cache.isWatched { await refresh() }
            try? await Task.sleep(for: interval)
        }
    }

    // MARK: - HTTP

    public func router() -> Router<DashboardContext> {
        let router = Router(context: DashboardContext.self)
        router.add(middleware: Gate(access: access))
        router.get("/") { _, _ in Self.asset(Assets.page, "text/html; charset=utf-8") }
        router.get("/app.js") { _, _ in Self.asset(Assets.script, "text/javascript; charset=utf-8") }
        router.get("/app.css") { _, _ in Self.asset(Assets.style, "text/css; charset=utf-8") }
        router.get("/login") { _, _ in Self.asset(Assets.login(failed: false), "text/html; charset=utf-8") }
        router.post("/login") { request, context in try await self.login(request, from: context.peer) }
        router.get("/api/state") { _, _ in Self.json(await self.currentState().json) }
        router.get("/api/bans") { _, _ in
            Self.json(ByteBuffer(bytes: try Self.encoder.encode(await self.currentState().state.guardState.bans)))
        }
        router.get("/api/history") { request, _ in
            let minutes = min(max(request.uri.queryParameters.get("minutes", as: Int.self) ?? 30, 1), 60)
            let history = try self.source.history(since: Int(Date().timeIntervalSince1970) - minutes * 60)
            return Self.json(ByteBuffer(bytes: try Self.encoder.encode(history)))
        }
        router.get("/api/events") { _, _ in self.events() }
        router.post("/api/unban") { request, context in try await self.unban(request, from: context.peer) }
        router.get("/metrics") { _, _ in
            Self.respond(.ok, "text/plain; version=0.0.4; charset=utf-8", ByteBuffer(string: MetricsText.render(await self.currentState().state, live: self.source.guardMetrics)))
        }
        return router
    }

    /// Server-sent events: the state now, then after every refresh, until the page goes away.
    func events() -> Response {
        guard streams.take() else {
            return Self.problem(.serviceUnavailable, "\(streams.limit) pages already follow this dashboard; close one, or read /api/state")
        }
        var headers = HTTPFields()
        headers[.contentType] = "text/event-stream"
        headers[.cacheControl] = "no-store"
        return Response(status: .ok, headers: headers, body: ResponseBody { writer in
            defer { self.streams.release() }
            _ = await self.currentState()
            var sent = -1
            var quiet = 0
            while !Task.isCancelled && !self.cache.isClosing {
                self.cache.watch()
                let cached = self.cache.current
                if cached.version != sent {
                    sent = cached.version
                    quiet = 0
                    var message = ByteBuffer(string: "data: ")
                    var json = cached.json
                    message.writeBuffer(&json)
                    message.writeString("\n\n")
                    try await writer.write(message)
                } else if quiet >= 20 {
                    // A comment line now and then: a page that went away is noticed within seconds.
                    quiet = 0
                    try await writer.write(ByteBuffer(string: ":\n\n"))
                }
                quiet += 1
                try await Task.sleep(for: .milliseconds(100))
            }
            try await writer.finish(nil)
        })
    }

    func login(_ request: Request, from address: String) async throws -> Response {
        var request = request
        let body = String(buffer: try await request.collectBody(upTo: 4096))
        let fields = Dictionary(body.split(separator: "&").map { pair -> (String, String) in
            let parts = pair.split(separator: "=", maxSplits: 1).map { String($0).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? "" }
            return (parts.first ?? "", parts.count > 1 ? parts[1] : "")
        }, uniquingKeysWith: { $1 })
        switch access.login(token: fields["token"] ?? "", from: address) {
        case .wrongToken:
            return Self.respond(.unauthorized, "text/html; charset=utf-8", ByteBuffer(string: Assets.login(failed: true)))
        case .throttled(let wait):
            return Self.throttled(wait)
        case .session(let session):
            var headers = HTTPFields()
            headers[.location] = "/"
            headers[.setCookie] = "\(DashboardAccess.cookie)=\(session); \(access.cookieAttributes)"
            return Response(status: .seeOther, headers: headers)
        }
    }

    struct UnbanRequest: Decodable { var ip: String }

    func unban(_ request: Request, from address: String) async throws -> Response {
        let verdict = access.mayAct(authorization: request.headers[.authorization], cookie: request.cookies[DashboardAccess.cookie]?.value,
                                    actionHeader: request.headers[HTTPField.Name(DashboardAccess.actionHeader)!], from: address)
        switch verdict {
        case .throttled(let wait):
            return Self.throttled(wait)
        case .noToken:
            return Self.problem(.forbidden, "actions need a token: set dashboard.token in the manifest and log in at /login")
        case .unauthorized:
            return Self.problem(.unauthorized, "log in at /login with the dashboard token, or send Authorization: Bearer <token>")
        case .allowed:
            var request = request
            let body = try await request.collectBody(upTo: 4096)
            guard let wanted = try? JSONDecoder().decode(UnbanRequest.self, from: Data(buffer: body)), let ip = BanTarget(wanted.ip) else {
                return Self.problem(.badRequest, "send {\"ip\": \"<address>\"}")
            }
            try source.unban(ip)
            return Self.json(ByteBuffer(bytes: try Self.encoder.encode(["queued": ip.description])), status: .accepted)
        }
    }

    // MARK: - Responses

    static func asset(_ text: String, _ type: String) -> Response { respond(.ok, type, ByteBuffer(string: text)) }

    static func json(_ body: ByteBuffer, status: HTTPResponse.Status = .ok) -> Response { respond(status, "application/json", body) }

    static func problem(_ status: HTTPResponse.Status, _ message: String) -> Response {
        json(ByteBuffer(bytes: (try? encoder.encode(["error": message])) ?? Data()), status: status)
    }

    static func throttled(_ wait: Duration) -> Response {
        var response = problem(.tooManyRequests, "too many wrong tokens from this address; try again in \(wait.readable)")
        response.headers[.retryAfter] = String(max(1, wait.components.seconds))
        return response
    }

    static func respond(_ status: HTTPResponse.Status, _ type: String, _ body: ByteBuffer) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = type
        headers[.cacheControl] = "no-store"
        return Response(status: status, headers: headers, body: .init(byteBuffer: body))
    }

    /// Reading rules and security headers for every answer.
    struct Gate: RouterMiddleware {
        typealias Context = DashboardContext
        let access: DashboardAccess

        func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
            let path = request.uri.path
            let open = path == "/login" || path == "/app.css"
            let verdict = access.mayRead(authorization: request.headers[.authorization], cookie: request.cookies[DashboardAccess.cookie]?.value,
                                         from: context.peer)
            var response: Response
            if !access.isLoopbackHost(request.head.authority) {
                response = DashboardServer.problem(.misdirectedRequest, "this dashboard answers to localhost, 127.0.0.1 or [::1] only (it listens on loopback)")
            } else if open || verdict == .allowed {
                response = try await next(request, context)
            } else if case .throttled(let wait) = verdict {
                response = DashboardServer.throttled(wait)
                response = try await next(request, context)
            } else if path == "/" {
                response = Response(status: .seeOther, headers: [.location: "/login"])
            } else {
                response = DashboardServer.problem(.unauthorized, "log in at /login with the dashboard token, or send Authorization: Bearer <token>")
                response.headers[.wwwAuthenticate] = "Bearer"
            }
            // No inline script or style, nothing from elsewhere: a log line that slipped through as
            // markup still could not run.
            response.headers[.contentSecurityPolicy] =
                "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
            response.headers[HTTPField.Name("X-Content-Type-Options")!] = "nosniff"
            response.headers[HTTPField.Name("Referrer-Policy")!] = "no-referrer"
            return response
        }
    }

    /// Serves until cancelled (then shuts down gracefully, open pages included); `onListening` gets
    /// the bound port (useful with port 0).
    public func run(host: String, port: Int, onListening: @escaping @Sendable (Int) -> Void = { _ in }) async throws {
        var logger = Logger(label: "swiftdeploy.dashboard")
        logger.logLevel = .warning
        // A connection that sends nothing for 30 s is closed (a held-open socket costs the guard a
        // descriptor); `limits` bounds how many are open and how long a request head may take.
        let app = Application(router: router(), server: .http1(configuration: .init(additionalChannelHandlers: [self.limits.handler()], idleTimeout: .seconds(30))),
                              configuration: .init(address: .hostname(host, port: port), serverName: "swiftdeploy"),
                              onServerRunning: { channel in onListening(channel.localAddress?.port ?? port) }, logger: logger)
        let services = ServiceGroup(configuration: .init(services: [app], gracefulShutdownSignals: [], logger: logger))
        let refresher = Task { await refreshLoop() }
        defer { refresher.cancel() }
        // Served from a task of its own, so cancelling the caller asks for a graceful shutdown
        // instead of cancelling the server mid-flight.
        let serving = Task { try await services.run() }
        try await withTaskCancellationHandler {
            try await serving.value
        } onCancel: {
            cache.isClosing = true
            Task { await services.triggerGracefulShutdown() }
        }
    }
}
