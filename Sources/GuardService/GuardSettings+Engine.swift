import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Detection
import Manifest
import Telemetry
import Vocabulary

extension GuardConfig {
    /// The manifest's `guard` section as the engine's plain settings.
    public init(_ settings: GuardSettings) {
        self.init()
        window = Int(settings.window.seconds)
        reorderHorizon = Int(settings.reorderHorizon.seconds)
        baselineWindow = Int(settings.baseline.window.seconds)
        recalcEvery = max(1, Int(settings.baseline.recalc.seconds))
        minPoints = settings.baseline.minPoints
        meanFloor = settings.baseline.meanFloor
        clientFloor = settings.baseline.clientFloor
        clientQuantile = settings.baseline.clientQuantile
        rules = settings.rules
        cohorts = settings.cohorts
        protected = settings.trustedProxies
        ipv6Prefix = settings.ipv6Prefix
        zScore = settings.thresholds.zScore
        multiplier = settings.thresholds.multiplier
        errorSurge = settings.thresholds.errorSurge
        surgeTightening = settings.thresholds.surgeTightening
        bans = settings.bans.map { length -> Int? in
            if case .lasting(let duration) = length { return Int(duration.seconds) }
            return nil
        }
        forgiveAfter = Int(settings.forgiveAfter.seconds)
        allow = settings.allow
        maxTrackedIPs = settings.maxTrackedIPs
        globalCooldown = Int(settings.globalCooldown.seconds)
        minRequests = settings.minRequests
    }
}

extension GuardConfig {
    /// The daemon's settings: the manifest's, with the host's own addresses never banned.
    init(daemon settings: GuardSettings) {
        self.init(settings)
        protected += HostAddresses.current().compactMap { CIDR($0.description) }
    }
}

/// The addresses of this host's interfaces (getifaddrs).
enum HostAddresses {
    static func current() -> [IPAddress] {
        var list: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&list) == 0, let first = list else { return [] }
        defer { freeifaddrs(list) }
        var addresses: [IPAddress] = []
        for entry in sequence(first: first, next: { $0.pointee.ifa_next }) {
            guard let socket = entry.pointee.ifa_addr else { continue }
            var host = [CChar](repeating: 0, count: Int(NI_MAXHOST))
            let length = socket.pointee.sa_family == sa_family_t(AF_INET6) ? MemoryLayout<sockaddr_in6>.size : MemoryLayout<sockaddr_in>.size
            guard [sa_family_t(AF_INET), sa_family_t(AF_INET6)].contains(socket.pointee.sa_family),
                  getnameinfo(socket, socklen_t(length), &host, socklen_t(host.count), nil, 0, NI_NUMERICHOST) == 0 else { continue }
            let text = String(cString: host).split(separator: "%").first.map(String.init) ?? ""
            if let address = IPAddress(text) { addresses.append(address) }
        }
        return addresses
    }
}

extension GuardLogParser {
    public init(_ settings: GuardSettings, format: AccessLogFormat? = nil) {
        self.init(format: format ?? settings.logFormat,
                  resolver: ClientResolver(trustedProxies: settings.trustedProxies, ipv6Prefix: settings.ipv6Prefix),
                  classifier: settings.requests)
    }
}

extension NetworkOwners {
    /// Reads the ip-to-ASN table at `path` (nil: no table), naming the file and line of a problem.
    public static func load(_ path: String?) throws -> NetworkOwners {
        guard let path else { return NetworkOwners() }
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw GuardCommandError.noSuchTable(path) }
        return try NetworkOwners(text: text, file: path)
    }
}
