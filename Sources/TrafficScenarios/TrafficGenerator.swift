import Foundation
import Telemetry
import Vocabulary

/// One generated request: when, from where, what, and which class sent it.
public struct GeneratedRequest: Sendable {
    public var time: Double
    public var address: String
    public var method: String
    public var path: String
    public var status: Int
    public var agent: String
    /// Index of the scenario class that sent it.
    public var label: Int

    public init(time: Double, address: String, method: String = "GET", path: String, status: Int, agent: String, label: Int = 0) {
        (self.time, self.address, self.method, self.path, self.status, self.agent, self.label) = (time, address, method, path, status, agent, label)
    }
}

/// Deterministic traffic for a scenario: every client is a small state machine (a reader loading
/// pages with their assets, a crawler, a poller, an attacker …) and requests come out in time order.
/// The same scenario and seed always give the same requests; another seed gives another site.
public struct TrafficGenerator: Sendable {
    let scenario: Scenario
    private var random: SeededRandom
    private var actors: [Actor] = []
    /// Each actor's next time.
    private var queue = TimeQueue<Int>()
    private var addressCounter: UInt32 = 0
    /// Each swarm's /24s (their first 24 bits), for legitimate classes that live `inside` them.
    private var swarmNetworks: [String: [UInt32]] = [:]

    public init(scenario: Scenario, seed: UInt64? = nil) {
        self.scenario = scenario
        random = SeededRandom(seed: seed ?? scenario.seed)
        for (label, trafficClass) in scenario.classes.enumerated() { spawn(trafficClass, label: label) }
        for index in actors.indices { push(actors[index].next, index) }
    }

    static let browserAgents = [
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
        "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:132.0) Gecko/20100101 Firefox/132.0",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36 Edg/130.0.0.0",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    ]
    static let mobileAgents = [
        "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
        "Mozilla/5.0 (Linux; Android 13; SM-A536B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Mobile Safari/537.36",
        "Mozilla/5.0 (iPad; CPU OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Mobile/15E148 Safari/604.1",
    ]
    /// Thirty real browser agents (the releases of the last months) a swarm rotates through.
    static let swarmAgents: [String] = (0..<30).map { index in
        let base = (browserAgents + mobileAgents)[index % 10]
        return base.replacingOccurrences(of: "Chrome/131.0.0.0", with: "Chrome/\(131 - index / 10).0.0.0")
            .replacingOccurrences(of: "Firefox/133.0", with: "Firefox/\(133 - index / 10).0")
            .replacingOccurrences(of: "Version/18.1", with: "Version/18.\(index / 10)")
    }
    static let assetKinds = ["css", "js", "png", "jpg", "svg", "woff2", "webp", "ico"]
    static let probePaths = [
        "/.env", "/.git/config", "/wp-login.php", "/phpmyadmin/", "/.aws/credentials", "/admin.php", "/wp-admin/setup-config.php",
        "/vendor/phpunit/phpunit/src/Util/PHP/eval-stdin.php", "/actuator/env", "/server-status", "/config.php", "/.DS_Store",
        "/cgi-bin/luci", "/backup.sql", "/.htpasswd", "/xmlrpc.php", "/solr/admin/info/system", "/console/", "/.svn/entries",
    ]
    static let words = ["admin", "backup", "old", "test", "dev", "api", "private", "data", "db", "upload", "files", "tmp", "install",
                        "manager", "portal", "secret", "internal", "staging", "v1", "v2", "debug", "logs", "export", "config"]

    /// What one client does next.
    enum Role {
        case reader(assetsLeft: Int, apiLeft: Int, think: Double, meanThink: Double?, cached: Bool)
        case crawler(rate: Double, page: Int)
        case poller(interval: Double)
        case flood(rate: Double, staticFile: Bool)
        case bruteForce(interval: ClosedRange<Double>, status: Int)
        case scanner(rate: Double, index: Int)
        case stuffing(interval: ClosedRange<Double>)
        case scraper(rate: Double, page: Int)
        case swarm(interval: ClosedRange<Double>)

        /// A reader who has not loaded a page yet; `meanThink` nil reads for the class's `read` range.
        static func newReader(meanThink: Double?) -> Role {
            .reader(assetsLeft: 0, apiLeft: 0, think: 0, meanThink: meanThink, cached: false)
        }
    }

    struct Actor {
        var label: Int
        var address: String
        var agent: String
        var role: Role
        var next: Double
        var end: Double
        var page = 0
        /// IPv6 /64 rotation: each request from another address in the prefix.
        var rotatePrefix: String?
    }

    private mutating func uniform(_ range: ClosedRange<Double>) -> Double {
        range.lowerBound + (range.upperBound - range.lowerBound) * Double(random.next() >> 11) / Double(1 << 53)
    }

    private mutating func exponential(_ mean: Double) -> Double {
        -mean * log(max(1e-12, uniform(0...1)))
    }

    private mutating func pick<T>(_ items: [T]) -> T { items[Int(random.next() % UInt64(items.count))] }

    private mutating func newAddress(v6: Bool = false) -> String {
        addressCounter += 1
        let value = addressCounter &* 2_654_435_761 // spread over the space, deterministic
        if v6 { return String(format: "2001:db8:%x:%x::", (value >> 16) & 0xFFFF, value & 0xFFFF) }
        return "\(11 + (value >> 24) % 180).\((value >> 16) & 0xFF).\((value >> 8) & 0xFF).\(max(1, value & 0xFF))"
    }

    private mutating func agent(_ kind: String) -> String {
        switch kind {
        case "mobile": return pick(Self.mobileAgents)
        case "empty": return ""
        case "scripted": return pick(["python-requests/2.32.3", "curl/8.5.0", "Go-http-client/1.1"])
        case "crawler": return "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
        case "tool": return "sqlmap/1.8.11#stable (https://sqlmap.org)"
        case "generic": return "Mozilla/5.0 (compatible; DataFetcher/1.0)"
        // A class may name its agent as it is sent (`git/2.43.0`, a feed reader's).
        default: return kind.contains("/") ? kind : pick(Self.browserAgents)
        }
    }

    private mutating func spawn(_ spec: TrafficClass, label: Int) {
        let end = min(scenario.duration, spec.start + (spec.length ?? scenario.duration))
        func arrival(_ index: Int, of count: Int) -> Double {
            spec.start + (spec.arriveWithin > 0 ? spec.arriveWithin * Double(index) / Double(max(1, count)) : 0)
        }
        switch spec.kind {
        case .zipf:
            // Client k reads pages at a rate ∝ 1/k^1.1; together they read `pages_per_second`.
            let weights = (1...max(1, spec.clients)).map { 1 / pow(Double($0), 1.1) }
            let total = weights.reduce(0, +)
            for weight in weights {
                let mean = max(3, 1 / (spec.pagesPerSecond * weight / total))
                let first = spec.start + uniform(0...min(mean, 600))
                actors.append(Actor(label: label, address: newAddress(), agent: agent(spec.agent),
                                    role: .newReader(meanThink: mean),
                                    next: first, end: end))
            }
        case .browser:
            for index in 0..<spec.clients {
                actors.append(Actor(label: label, address: browserAddress(spec), agent: agent(spec.agent),
                                    role: .newReader(meanThink: nil),
                                    next: arrival(index, of: spec.clients) + uniform(0...(spec.arriveWithin > 0 ? 1 : spec.read.upperBound)),
                                    end: end))
            }
        case .nat:
            let addresses = (0..<max(1, spec.clients)).map { _ in newAddress() }
            for person in 0..<max(1, spec.people) {
                actors.append(Actor(label: label, address: addresses[person % addresses.count], agent: agent(spec.agent),
                                    role: .newReader(meanThink: nil),
                                    next: spec.start + uniform(0...spec.read.upperBound), end: end))
            }
        case .crawler:
            for _ in 0..<spec.clients {
                actors.append(Actor(label: label, address: newAddress(), agent: agent(spec.agent == "browser" ? "crawler" : spec.agent),
                                    role: .crawler(rate: uniform(spec.rate), page: 0), next: spec.start + uniform(0...2), end: end))
            }
        case .poller:
            for _ in 0..<spec.clients {
                actors.append(Actor(label: label, address: newAddress(), agent: agent(spec.agent == "browser" ? "scripted" : spec.agent),
                                    role: .poller(interval: uniform(spec.every)), next: spec.start + uniform(0...5), end: end))
            }
        case .flood, .scanner, .scraper, .bruteForce:
            for index in 0..<spec.clients {
                let role: Role
                switch spec.kind {
                case .flood: role = .flood(rate: uniform(spec.rate), staticFile: spec.target == "static")
                case .scanner: role = .scanner(rate: uniform(spec.rate), index: 0)
                case .scraper: role = .scraper(rate: uniform(spec.rate), page: 0)
                default: role = .bruteForce(interval: spec.every, status: random.next() % 2 == 0 ? 401 : 200)
                }
                let v6 = spec.ipv6Rotation
                let address = newAddress(v6: v6)
                actors.append(Actor(label: label, address: address, agent: agent(spec.agent), role: role,
                                    next: arrival(index, of: spec.clients), end: end,
                                    rotatePrefix: v6 ? address : nil))
            }
        case .swarm:
            let networks = placeNetworks(spec)
            swarmNetworks[spec.name] = networks
            for index in 0..<(spec.clients + spec.ipv6Networks) {
                let address: String
                if index < spec.clients {
                    // Spread over the /24s, a few hosts each, distinct.
                    let network = networks[index % networks.count], host = 1 + (index / networks.count * 37) % 250
                    address = IPAddress(v4: network << 8 | UInt32(host)).description
                } else {
                    address = newAddress(v6: true) + "1"
                }
                actors.append(Actor(label: label, address: address, agent: pick(Self.swarmAgents), role: .swarm(interval: spec.every),
                                    next: spec.start + uniform(0...spec.every.upperBound), end: end))
            }
        case .credentialStuffing:
            for _ in 0..<spec.clients {
                actors.append(Actor(label: label, address: newAddress(), agent: agent(spec.agent), role: .stuffing(interval: spec.every),
                                    next: spec.start + uniform(0...spec.every.upperBound), end: end))
            }
        }
    }

    /// A swarm's /24s: inside `systems` IPv4 blocks of the scenario's table, or anywhere without one.
    private mutating func placeNetworks(_ spec: TrafficClass) -> [UInt32] {
        var blocks = scenario.networkOwners.v4Blocks
        var chosen: [(low: UInt32, high: UInt32)] = []
        while chosen.count < spec.systems, !blocks.isEmpty {
            let block = blocks.remove(at: Int(random.next() % UInt64(blocks.count)))
            chosen.append((UInt32(block.start.low >> 8), UInt32(block.end.low >> 8)))
        }
        var networks: [UInt32] = []
        var seen = Set<UInt32>()
        // Bounded: blocks too small for `networks` distinct /24s give fewer, never a hang.
        var attempts = 0
        while networks.count < max(1, spec.networks), attempts < 50 * max(1, spec.networks) {
            attempts += 1
            let network: UInt32
            if let block = chosen.isEmpty ? nil : pick(chosen) {
                network = block.low + UInt32(random.next() % UInt64(block.high - block.low + 1))
            } else {
                network = UInt32(IPAddress(newAddress())!.low >> 8)
            }
            if seen.insert(network).inserted { networks.append(network) }
        }
        return networks
    }

    /// A browser's address: inside a quarter of a swarm's /24s when the class says so, else its own.
    private mutating func browserAddress(_ spec: TrafficClass) -> String {
        guard let swarm = spec.inside, let networks = swarmNetworks[swarm], !networks.isEmpty else { return newAddress() }
        let network = networks[Int(random.next() % UInt64(max(1, networks.count / 4)))]
        return IPAddress(v4: network << 8 | UInt32(1 + random.next() % 254)).description
    }

    /// How busy legitimate traffic is now, 1 at night up to the wave factor by day.
    private func activity(at time: Double) -> Double {
        guard scenario.waveFactor > 1 else { return 1 }
        let phase = (1 - cos(2 * Double.pi * time / scenario.wavePeriod)) / 2
        return 1 + (scenario.waveFactor - 1) * phase
    }

    private mutating func push(_ time: Double, _ index: Int) { queue.push(time, tie: index, index) }

    private mutating func pop() -> (Double, Int)? { queue.pop().map { ($0.time, $0.value) } }

    /// The next request in time order; nil when the scenario is over.
    public mutating func next() -> GeneratedRequest? {
        while let (time, index) = pop() {
            guard time < actors[index].end else { continue }
            var actor = actors[index]
            let spec = scenario.classes[actor.label]
            var request = GeneratedRequest(time: Double(scenario.start) + time, address: actor.address, method: "GET", path: "/", status: 200,
                                           agent: actor.agent, label: actor.label)
            var gap: Double
            switch actor.role {
            case .reader(var assetsLeft, var apiLeft, let think, let meanThink, let cached):
                if assetsLeft > 0 || apiLeft > 0 {
                    // The rest of a page load: assets and API calls within about 2 s, then reading.
                    if apiLeft > 0 && (assetsLeft == 0 || random.next() % 3 == 0) {
                        request.path = "/api/\(pick(Self.words))/\(random.next() % 500)"
                        apiLeft -= 1
                    } else {
                        request.path = "/static/\(actor.page)/\(assetsLeft).\(pick(Self.assetKinds))"
                        assetsLeft -= 1
                        if random.next() % 200 == 0 { request.status = 404 }
                    }
                    gap = assetsLeft + apiLeft == 0 ? think : uniform(0.005...0.05)
                    actor.role = .reader(assetsLeft: assetsLeft, apiLeft: apiLeft, think: think, meanThink: meanThink, cached: cached)
                } else {
                    actor.page = Int(exponential(200))
                    request.path = "/\(Self.words[actor.page % Self.words.count])/\(actor.page)"
                    if random.next() % 50 == 0 { request.status = 404 }
                    // A returning reader has most assets cached.
                    let assets = Int(uniform(spec.assets)) / (cached ? 5 : 1)
                    let nextThink = (meanThink.map { max(2, exponential($0)) } ?? uniform(spec.read)) / activity(at: time)
                    actor.role = .reader(assetsLeft: assets, apiLeft: spec.apiCalls, think: nextThink, meanThink: meanThink, cached: true)
                    gap = assets + spec.apiCalls > 0 ? uniform(0.05...0.2) : nextThink
                }
            case .crawler(let rate, let page):
                request.path = "/\(pick(Self.words))/\(page)"
                if random.next() % 50 == 0 { request.status = 404 }
                actor.role = .crawler(rate: rate, page: page + 1)
                gap = uniform(0.8...1.2) / rate
            case .poller(let interval):
                request.path = "/api/v1/status"
                gap = interval * uniform(0.95...1.05)
            case .flood(let rate, let staticFile):
                request.path = staticFile ? "/static/logo.png" : "/\(pick(Self.words))/\(random.next() % 50)"
                gap = exponential(1 / rate)
            case .bruteForce(let interval, let status):
                (request.method, request.path, request.status) = ("POST", "/login", status)
                gap = uniform(interval)
            case .scanner(let rate, let index):
                request.path = index % 2 == 0 ? Self.probePaths[(index / 2) % Self.probePaths.count]
                    : "/\(pick(Self.words))\(random.next() % 100)/\(pick(Self.words)).\(pick(["php", "zip", "bak", "html", "txt"]))"
                request.status = random.next() % 20 == 0 ? 403 : (random.next() % 20 == 0 ? 200 : 404)
                actor.role = .scanner(rate: rate, index: index + 1)
                gap = exponential(1 / rate)
            case .stuffing(let interval):
                (request.method, request.path, request.status) = ("POST", "/login", 200)
                gap = uniform(interval)
            case .swarm(let interval):
                // Deep, expensive pages of a forge, never their assets.
                let repository = "\(pick(Self.words))-\(random.next() % 40)"
                let view = pick(["commit", "blame", "tree", "log", "diff", "raw"])
                request.path = "/\(repository)/\(view)/\(String(random.next() & 0xFFFF_FFFF, radix: 16))"
                    + (random.next() % 4 == 0 ? "?page=\(random.next() % 200)" : "")
                gap = uniform(interval)
            case .scraper(let rate, let page):
                request.path = "/\(pick(Self.words))/\(page)"
                actor.role = .scraper(rate: rate, page: page + 1)
                gap = uniform(0.8...1.2) / rate
            }
            if let prefix = actor.rotatePrefix {
                request.address = prefix + String(format: "%x:%x", random.next() & 0xFFFF, random.next() & 0xFFFF)
            }
            actor.next = time + max(0.001, gap)
            actors[index] = actor
            push(actor.next, index)
            return request
        }
        return nil
    }
}
