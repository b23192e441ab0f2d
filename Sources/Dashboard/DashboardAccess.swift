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
        /// Too many wrong tokens lately from this address: no guess is even compared until this wait is over.
        case throttled(retryAfter: Duration)
    }

    public enum Verdict: Equatable, Sendable {
        case allowed
        /// No or wrong credentials.
        case unauthorized
        /// Too many wrong tokens lately from this address (form or bearer): not even compared.
        case throttled(retryAfter: Duration)
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

    /// Whether a request from `address` may read (pages, API, metrics, events).
    public func mayRead(authorization: String?, cookie: String?, from address: String) -> Verdict {
        if loopbackOnly { return .allowed }
        if cookie.map(sessions.contains) == true { return .allowed }
        return bearer(authorization, from: address)
    }

    /// Whether a request from `address` may change state.
    public func mayAct(authorization: String?, cookie: String?, actionHeader: String?, from address: String) -> Verdict {
        guard token != nil else { return .noToken }
        if actionHeader != nil, let cookie, sessions.contains(cookie) { return .allowed }
        return bearer(authorization, from: address)
    }

    /// A new session for a correct token. Five wrong tokens from one address within a minute close
    /// the form to that address for a minute (guessing a 16-character token is then hopeless); the
    /// owner, elsewhere, can still log in.
    public func login(token offered: String, from address: String) -> Login {
        if let wait = throttle.wait(address) { return .throttled(retryAfter: wait) }
        guard let token, Self.constantTimeEqual(offered, token) else {
            throttle.failed(address)
            return .wrongToken
        }
        return .session(sessions.open())
    }

    /// The session cookie's attributes: private to this site, gone with the session, and sent only
    /// over HTTPS once the dashboard is reachable beyond this host.
    public var cookieAttributes: String {
        "Path=/; HttpOnly; SameSite=Strict; Max-Age=\(Int(sessionLifetime.components.seconds))" + (loopbackOnly ? "" : "; Secure")
    }

    /// A bearer token, counted with the form's wrong tokens: a guesser is throttled either way.
    func bearer(_ authorization: String?, from address: String) -> Verdict {
        guard let token, let authorization, authorization.hasPrefix("Bearer ") else { return .unauthorized }
        if let wait = throttle.wait(address) { return .throttled(retryAfter: wait) }
        guard Self.constantTimeEqual(String(authorization.dropFirst(7)), token) else {
            throttle.failed(address)
            return .unauthorized
        }
        return .allowed
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
}
