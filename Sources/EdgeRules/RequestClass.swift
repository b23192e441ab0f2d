/// What kind of request a log line is, decided once at parse time so every rule reads the same
/// answer: a page (or API call), a static asset, or an attempt to log in.
public enum RequestKind: UInt8, Sendable {
    case page
    /// A file a browser fetches beside a page (by extension): weighs far less than a page.
    case asset
    /// A POST (or PUT) to one of `guard.login_paths`.
    case login
}

/// What the user agent says about the client.
public enum AgentKind: UInt8, Sendable {
    case other
    /// A search engine's crawler (its own user agent); exempt from the scraper rule.
    case crawler
    /// Empty, `-` or an HTTP library (curl, python-requests …): scripts and API clients.
    case scripted
    /// A known attack tool (sqlmap, nikto …): banned on sight when `guard.bad_agents` lists it.
    case bad
    /// What a person's browser sends (`Mozilla/5.0 (…)` without `compatible;`, bot, spider or crawl):
    /// the only kind a cohort's challenge is for, since a git client or a feed reader cannot pass one.
    case browser
}

/// The lists that classify requests, with defaults that suit most sites; the manifest's
/// `guard.requests` section overrides each one.
public struct RequestClassifier: Sendable, Equatable {
    /// File extensions (lowercase, no dot) that make a request a static asset.
    public var assetExtensions: [String]
    /// Paths whose POSTs are login attempts (exact, or followed by `/`, `?` or `.`).
    public var loginPaths: [String]
    /// Substrings of paths (lowercase) that only a vulnerability scanner asks for; they weigh more
    /// in the scanner rule when they fail.
    public var probePaths: [String]
    /// Substrings of user agents (lowercase) of search crawlers.
    public var crawlerAgents: [String]
    /// Substrings of user agents (lowercase) of attack tools.
    public var badAgents: [String]
    /// Substrings of user agents (lowercase) of HTTP libraries and command-line clients.
    public var scriptedAgents: [String]

    public init(assetExtensions: [String] = Self.defaultAssetExtensions, loginPaths: [String] = Self.defaultLoginPaths,
                probePaths: [String] = Self.defaultProbePaths, crawlerAgents: [String] = Self.defaultCrawlerAgents,
                badAgents: [String] = Self.defaultBadAgents, scriptedAgents: [String] = Self.defaultScriptedAgents) {
        self.assetExtensions = assetExtensions
        self.loginPaths = loginPaths
        self.probePaths = probePaths
        self.crawlerAgents = crawlerAgents
        self.badAgents = badAgents
        self.scriptedAgents = scriptedAgents
        extensionKeys = Set(assetExtensions.compactMap { Self.extensionKey(Array($0.lowercased().utf8)[...]) })
        loginBytes = loginPaths.map { Array($0.utf8) }
        probeBytes = probePaths.map { Array($0.lowercased().utf8) }
        crawlerBytes = crawlerAgents.map { Array($0.lowercased().utf8) }
        badBytes = badAgents.map { Array($0.lowercased().utf8) }
        scriptedBytes = scriptedAgents.map { Array($0.lowercased().utf8) }
    }

    public static let defaultAssetExtensions = [
        "css", "js", "mjs", "map", "png", "jpg", "jpeg", "gif", "svg", "ico", "webp", "avif", "bmp",
        "woff", "woff2", "ttf", "otf", "eot", "mp4", "webm", "mp3", "ogg", "wav", "json5", "webmanifest",
    ]
    public static let defaultLoginPaths = [
        "/login", "/signin", "/sign-in", "/sign_in", "/wp-login.php", "/user/login", "/users/sign_in", "/admin/login",
        "/api/login", "/api/auth/login", "/auth/login", "/account/login", "/accounts/login", "/session", "/sessions",
        "/oauth/token", "/xmlrpc.php",
    ]
    public static let defaultProbePaths = [
        "/.env", "/.git", "/.svn", "/.hg/", "/.aws", "/.ssh", "/.htaccess", "/.htpasswd", "/.ds_store", "/.vscode",
        "wp-login.php", "/wp-admin", "/wp-content", "/wp-includes", "xmlrpc.php", "/phpmyadmin", "/pma/", "/myadmin",
        "/cgi-bin", "/vendor/phpunit", "/actuator", "/server-status", "/etc/passwd", "../", "%2e%2e", "/boaform",
        "/hnap1", "/config.php", "/setup.php", "/install.php", "/admin.php", "/shell", "/console", "/solr/", "/jenkins",
        "/manager/html", ".sql", ".bak", "/backup", "/dump", "/debug", "/telescope", "/_profiler", "/owa/", "/autodiscover",
    ]
    public static let defaultCrawlerAgents = [
        "googlebot", "bingbot", "duckduckbot", "baiduspider", "yandexbot", "applebot", "slurp", "facebookexternalhit",
        "twitterbot", "linkedinbot", "petalbot", "qwantify", "seznambot", "ecosia",
    ]
    public static let defaultBadAgents = [
        "sqlmap", "nikto", "nmap", "masscan", "zgrab", "nuclei", "dirbuster", "gobuster", "wpscan", "feroxbuster",
        "ffuf", "acunetix", "netsparker", "hydra", "jorgee", "zmeu", "morfeus", "wfuzz", "whatweb", "openvas",
    ]
    public static let defaultScriptedAgents = [
        "curl/", "wget/", "python-requests", "python-urllib", "python-httpx", "aiohttp", "go-http-client", "java/",
        "okhttp", "libwww-perl", "axios/", "node-fetch", "undici", "httpclient", "guzzlehttp", "ruby", "scrapy", "powershell",
    ]

    private var extensionKeys: Set<UInt64> = []
    private var loginBytes: [[UInt8]] = []
    private var probeBytes: [[UInt8]] = []
    private var crawlerBytes: [[UInt8]] = []
    private var badBytes: [[UInt8]] = []
    private var scriptedBytes: [[UInt8]] = []

    public static func == (a: Self, b: Self) -> Bool {
        (a.assetExtensions, a.loginPaths, a.probePaths, a.crawlerAgents, a.badAgents, a.scriptedAgents)
            == (b.assetExtensions, b.loginPaths, b.probePaths, b.crawlerAgents, b.badAgents, b.scriptedAgents)
    }

    /// Up to 8 lowercase bytes packed into one word: a set lookup instead of string compares.
    private static func extensionKey(_ bytes: ArraySlice<UInt8>) -> UInt64? {
        guard !bytes.isEmpty, bytes.count <= 8 else { return nil }
        var key: UInt64 = 0
        for byte in bytes { key = key << 8 | UInt64(byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte) }
        return key
    }

    /// The kind of a request from its method and its path without the query (`withoutQuery`).
    public func kind(method: UnsafeBufferPointer<UInt8>, path: UnsafeBufferPointer<UInt8>) -> RequestKind {
        let end = path.count
        var dot = end, index = end
        while index > 0 {
            index -= 1
            let byte = path[index]
            if byte == UInt8(ascii: "/") { break }
            if byte == UInt8(ascii: ".") { dot = index; break }
        }
        if dot < end, dot + 1 < end, dot + 9 >= end {
            var key: UInt64 = 0
            for byte in path[(dot + 1)..<end] { key = key << 8 | UInt64(byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte) }
            if extensionKeys.contains(key) { return .asset }
        }
        let isPost = method.count == 4 && method[0] == UInt8(ascii: "P") && method[1] == UInt8(ascii: "O")
        let isPut = method.count == 3 && method[0] == UInt8(ascii: "P") && method[1] == UInt8(ascii: "U")
        if isPost || isPut {
            for login in loginBytes where login.count <= end && path.starts(with: login) {
                if login.count == end { return .login }
                let next = path[login.count]
                if next == UInt8(ascii: "/") || next == UInt8(ascii: ".") || next == UInt8(ascii: "?") { return .login }
            }
        }
        return .page
    }

    /// Whether a path is one only a vulnerability scanner asks for (read for failed requests only).
    public func isProbe(_ path: UnsafeBufferPointer<UInt8>) -> Bool {
        Self.containsAny(probeBytes, in: path)
    }

    /// The kind of a user agent (bad tools first, then crawlers, then scripts).
    public func agentKind(_ agent: UnsafeBufferPointer<UInt8>) -> AgentKind {
        if agent.isEmpty || (agent.count == 1 && agent[0] == UInt8(ascii: "-")) { return .scripted }
        if Self.containsAny(badBytes, in: agent) { return .bad }
        if Self.containsAny(crawlerBytes, in: agent) { return .crawler }
        if Self.containsAny(scriptedBytes, in: agent) { return .scripted }
        return Self.isBrowser(agent) ? .browser : .other
    }

    private static let notBrowser = ["compatible", "bot", "spider", "crawl"].map { Array($0.utf8) }

    /// `Mozilla/5.0 (` at the start, and none of the words bots add to it.
    static func isBrowser(_ agent: UnsafeBufferPointer<UInt8>) -> Bool {
        let prefix = Array("mozilla/5.0 (".utf8)
        guard agent.count > prefix.count, zip(agent, prefix).allSatisfy({ $0 | 0x20 == $1 | 0x20 }) else { return false }
        return !containsAny(notBrowser, in: agent)
    }

    /// Case-insensitive search of lowercase needles in a haystack.
    private static func containsAny(_ needles: [[UInt8]], in haystack: UnsafeBufferPointer<UInt8>) -> Bool {
        guard !needles.isEmpty, !haystack.isEmpty else { return false }
        var lower = [UInt8](repeating: 0, count: min(haystack.count, 512))
        for index in lower.indices {
            let byte = haystack[index]
            lower[index] = byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte
        }
        return lower.withUnsafeBufferPointer { text in
            needles.contains { needle in
                guard !needle.isEmpty, needle.count <= text.count else { return false }
                let first = needle[0]
                var start = 0
                while start + needle.count <= text.count {
                    if text[start] == first, text[start..<(start + needle.count)].elementsEqual(needle) { return true }
                    start += 1
                }
                return false
            }
        }
    }

    /// FNV-1a of bytes: a path's or an agent's identity in 4 bytes.
    @inline(__always)
    public static func hash(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt32 {
        var hash: UInt32 = 2_166_136_261
        for byte in bytes { hash = (hash ^ UInt32(byte)) &* 16_777_619 }
        return hash
    }

    /// A request target without its query string or fragment: what a path's kind and identity are read from.
    @inline(__always)
    public static func withoutQuery(_ path: UnsafeBufferPointer<UInt8>) -> UnsafeBufferPointer<UInt8> {
        let end = path.firstIndex { $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: "#") } ?? path.count
        return UnsafeBufferPointer(rebasing: path[..<end])
    }
}
