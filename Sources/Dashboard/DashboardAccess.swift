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
    private let sessions = Sessions()
    public static let cookie = "swiftdeploy_session"
    public static let actionHeader = "X-SwiftDeploy-Action"

    public init(token: String?, loopbackOnly: Bool) {
        self.token = token
        self.loopbackOnly = loopbackOnly
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
        var name = Substring(host.lowercased())
        if name.hasPrefix("[") {
            name = name.dropFirst().prefix { $0 != "]" }
        } else if let colon = name.lastIndex(of: ":") {
            name = name[..<colon]
        }
        return name == "localhost" || name == "::1" || (name.hasPrefix("127.") && IPAddress(name) != nil)
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

    /// A new session for a correct token; nil otherwise.
    public func login(token offered: String) -> String? {
        guard let token, Self.constantTimeEqual(offered, token) else { return nil }
        return sessions.open()
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

    /// Random session ids held in memory (a restart logs everyone out).
    final class Sessions: @unchecked Sendable {
        private let lock = NSLock()
        private var ids: Set<String> = []

        func open() -> String {
            var generator = SystemRandomNumberGenerator()
            let id = (0..<4).map { _ in String(generator.next() as UInt64, radix: 16) }.joined()
            lock.withLock { _ = ids.insert(id) }
            return id
        }

        func contains(_ id: String) -> Bool { lock.withLock { ids.contains(id) } }
    }
}
