import Foundation
import Vocabulary

/// Who may read the dashboard and who may act on it. Bound to loopback, reading is open (only this
/// host can connect); bound elsewhere, everything needs the token. Actions that change state
/// (unban) always need it: as `Authorization: Bearer <token>`, or as the session cookie set by
/// the login form together with the `X-SwiftDeploy-Action` header (which a cross-site form cannot
/// send, so the cookie alone never acts).
public final class DashboardAccess: Sendable {
    public let token: String?
    public let loopbackOnly: Bool
    /// How long a login lasts.
    public let sessionLifetime: Duration
    private let sessions: Sessions
    private let throttle: LoginThrottle
    public static let cookie = "swiftdeploy_session"
    public static let actionHeader = "X-SwiftDeploy-Action"

    /// - Parameter now: the clock sessions and the login throttle read (tests pass their own).
    public init(token: String?, loopbackOnly: Bool, sessionLifetime: Duration = .seconds(12 * 3600),
                now: @escaping @Sendable () -> ContinuousClock.Instant = { .now }) {
        self.token = token
        self.loopbackOnly = loopbackOnly
        self.sessionLifetime = sessionLifetime
        sessions = Sessions(lifetime: sessionLifetime, now: now)
        throttle = LoginThrottle(now: now)
    }

    /// What a login attempt gets.
    public enum Login: Equatable, Sendable {
        case session(String)
        case wrongToken
        /// Too many wrong tokens lately: no guess is even compared until this wait is over.
        case throttled(retryAfter: Duration)
    }

    public enum Verdict: Equatable, Sendable {
        case allowed
        /// No or wrong credentials.
        case unauthorized
        /// Actions are off because no token is configured.
        case noToken
    }

    /// Whether a request names this host as a loopback reader would. Open reading on loopback trusts
    /// that only this host connects; a page elsewhere that points a name it controls at 127.0.0.1
    /// (DNS rebinding) connects too, but its requests carry that name: they are refused.
    public func isLoopbackHost(_ host: String?) -> Bool {
        guard loopbackOnly else { return true }
        guard let host else { return false }
        // The authority without its port: `[::1]:9090` → `[::1]`, `localhost:9090` → `localhost`.
        var name = Substring(host)
        if name.hasPrefix("[") {
            name = name.prefix { $0 != "]" } + "]"
        } else if let colon = name.lastIndex(of: ":") {
            name = name[..<colon]
        }
        return IPAddress.isLoopback(host: name)
    }

    /// Whether a request may read (pages, API, metrics, events).
    public func mayRead(authorization: String?, cookie: String?) -> Verdict {
        if loopbackOnly { return .allowed }
        return credentials(authorization: authorization, cookie: cookie) ? .allowed : .unauthorized
    }

    /// Whether a request may change state.
    public func mayAct(authorization: String?, cookie: String?, actionHeader: String?) -> Verdict {
        guard token != nil else { return .noToken }
        if bearer(authorization) { return .allowed }
        if actionHeader != nil, let cookie, sessions.contains(cookie) { return .allowed }
        return .unauthorized
    }

    /// A new session for a correct token. Five wrong tokens within a minute close the form for a
    /// minute (guessing a 16-character token is then hopeless; the bearer header still works).
    public func login(token offered: String) -> Login {
        if let wait = throttle.wait() { return .throttled(retryAfter: wait) }
        guard let token, Self.constantTimeEqual(offered, token) else {
            throttle.failed()
            return .wrongToken
        }
        return .session(sessions.open())
    }

    /// The session cookie's attributes: private to this site, gone with the session, and sent only
    /// over HTTPS once the dashboard is reachable beyond this host.
    public var cookieAttributes: String {
        "Path=/; HttpOnly; SameSite=Strict; Max-Age=\(Int(sessionLifetime.components.seconds))" + (loopbackOnly ? "" : "; Secure")
    }

    func credentials(authorization: String?, cookie: String?) -> Bool {
        bearer(authorization) || cookie.map(sessions.contains) == true
    }

    func bearer(_ authorization: String?) -> Bool {
        guard let token, let authorization, authorization.hasPrefix("Bearer ") else { return false }
        return Self.constantTimeEqual(String(authorization.dropFirst(7)), token)
    }

    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        var difference = UInt8(x.count == y.count ? 0 : 1)
        for index in 0..<max(x.count, y.count) {
            difference |= (index < x.count ? x[index] : 0) ^ (index < y.count ? y[index] : 0)
        }
        return difference == 0
    }

    /// Random session ids held in memory until they expire (a restart logs everyone out).
    final class Sessions: @unchecked Sendable {
        private let lock = NSLock()
        private var opened: [String: ContinuousClock.Instant] = [:]
        private let lifetime: Duration
        private let now: @Sendable () -> ContinuousClock.Instant

        init(lifetime: Duration, now: @escaping @Sendable () -> ContinuousClock.Instant) {
            (self.lifetime, self.now) = (lifetime, now)
        }

        func open() -> String {
            var generator = SystemRandomNumberGenerator()
            let id = (0..<4).map { _ in String(generator.next() as UInt64, radix: 16) }.joined()
            let at = now()
            lock.withLock {
                opened = opened.filter { at - $0.value < lifetime }
                opened[id] = at
            }
            return id
        }

        func contains(_ id: String) -> Bool {
            let at = now()
            return lock.withLock { opened[id].map { at - $0 < lifetime } ?? false }
        }
    }

    /// Counts wrong tokens over the last minute.
    final class LoginThrottle: @unchecked Sendable {
        private let lock = NSLock()
        private var failures: [ContinuousClock.Instant] = []
        private let now: @Sendable () -> ContinuousClock.Instant
        static let (limit, span) = (5, Duration.seconds(60))

        init(now: @escaping @Sendable () -> ContinuousClock.Instant) { self.now = now }

        func failed() {
            let at = now()
            lock.withLock { failures = failures.filter { at - $0 < Self.span } + [at] }
        }

        /// How long until a login may be tried again; nil when it may now.
        func wait() -> Duration? {
            let at = now()
            return lock.withLock {
                failures = failures.filter { at - $0 < Self.span }
                guard failures.count >= Self.limit, let last = failures.last else { return nil }
                return Self.span - (at - last)
            }
        }
    }
}
