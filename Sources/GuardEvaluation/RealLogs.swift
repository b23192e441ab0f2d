import EdgeRules
import Foundation
import Detection
import Telemetry
import TrafficScenarios
import Vocabulary
import Yams

/// `guard evaluate` on real logs: public access logs (scenarios/real/SOURCES.md says where each
/// comes from and under which licence), labelled by hand in `labels.yaml` (an attacker only where
/// the log shows an attack beyond doubt, and why), replayed through the parser and the engine with
/// the log's own times and order. A ban of an address no label names is a false ban.
public struct RealLogs: Sendable {
    public struct Label: Decodable, Sendable {
        public var name: String
        /// `auto` when absent.
        public var format: String?
        /// The file's SHA-256: labels hold for these bytes only.
        public var sha256: String?
        public var attackers: [Attacker]?

        public struct Attacker: Decodable, Sendable {
            public var address: String
            public var reason: String
        }
    }

    struct LabelsFile: Decodable { var logs: [Label] }

    /// The outcome on one log.
    public struct Report: Sendable, Codable, Equatable {
        public var log: String
        public var format: String
        public var lines: Int
        public var malformed: Int
        public var lateLines: Int
        public var staleLines: Int
        public var days: Int
        public var clients: Int
        /// Addresses banned that no label names.
        public var falseBans: [String]
        public var attackers: Int
        public var attackersBanned: Int
        public var bannedClients: Int
        public var failures: [String]

        enum CodingKeys: String, CodingKey {
            case log, format, lines, malformed, lateLines = "late_lines", staleLines = "stale_lines", days, clients, falseBans = "false_bans"
            case attackers, attackersBanned = "attackers_banned", bannedClients = "banned_clients", failures
        }

        public var precision: Double { bannedClients == 0 ? 1 : Double(bannedClients - falseBans.count) / Double(bannedClients) }
    }

    public let labels: [Label]
    public let labelsFile: String
    public let config: GuardConfig
    public let classifier: RequestClassifier

    public init(labels file: String, config: GuardConfig = GuardConfig(), classifier: RequestClassifier = RequestClassifier()) throws {
        labels = try Scenario.decode(LabelsFile.self, from: file).logs
        labelsFile = file
        self.config = config
        self.classifier = classifier
    }

    /// Every labelled log found in one of `directories` (the first that holds it), replayed.
    public func run(directories: [String]) -> [Report] {
        labels.compactMap { label in
            directories.lazy.map { "\($0)/\(label.name)" }.first { FileManager.default.fileExists(atPath: $0) }.map { run(label, path: $0) }
        }
    }

    func run(_ label: Label, path: String) -> Report {
        var report = Report(log: label.name, format: label.format ?? "auto", lines: 0, malformed: 0, lateLines: 0, staleLines: 0, days: 0,
                            clients: 0, falseBans: [], attackers: label.attackers?.count ?? 0, attackersBanned: 0, bannedClients: 0, failures: [])
        guard let data = FileManager.default.contents(atPath: path) else {
            report.failures.append("\(path): cannot be read")
            return report
        }
        if let expected = label.sha256, ContentHash.sha256([UInt8](data)) != expected {
            report.failures.append("\(path): not the file labelled (SHA-256 differs from \(labelsFile)); labels hold for those bytes only")
            return report
        }
        guard let format = AccessLogFormat(rawValue: label.format ?? "auto") else {
            report.failures.append("\(labelsFile): \(label.name): format \(label.format ?? "") is none of \(AccessLogFormat.allCases.map(\.rawValue))")
            return report
        }
        let attackers = (label.attackers ?? []).compactMap { CIDR($0.address) }
        var parser = GuardLogParser(format: format, resolver: ClientResolver(), classifier: classifier)
        var engine = GuardEngine(config: config)
        var clients = Set<IPAddress>(), banned = Set<IPAddress>(), first: Double?, last: Double?
        data.withUnsafeBytes { raw in
            let bytes = raw.bindMemory(to: UInt8.self)
            for line in bytes.split(separator: 0x0A, omittingEmptySubsequences: true) {
                let trimmed = line.last == 0x0D ? line.dropLast() : line
                guard let event = parser.parse(UnsafeBufferPointer(rebasing: trimmed)) else { continue }
                clients.insert(event.client)
                (first, last) = (min(first ?? event.timestamp, event.timestamp), max(last ?? event.timestamp, event.timestamp))
                engine.ingest(event)
                for decision in engine.drain() where decision.action == .ban { decision.ip.map { _ = banned.insert($0) } }
            }
        }
        report.format = parser.format?.rawValue ?? format.rawValue
        (report.lines, report.malformed) = (parser.lines, parser.badLines)
        (report.lateLines, report.staleLines) = (engine.clock.lateLines, engine.clock.staleLines)
        report.days = Int(((last ?? 0) - (first ?? 0)) / 86400) + 1
        report.clients = clients.count
        report.bannedClients = banned.count
        // A banned client is an address, or an IPv6 prefix group: it is an attacker's when they overlap.
        func attacker(_ cidr: CIDR, _ ip: IPAddress) -> Bool { cidr.overlaps(ip, prefix: ip.isV4 ? 32 : config.ipv6Prefix) }
        report.falseBans = banned.filter { ip in !attackers.contains { attacker($0, ip) } }.map(\.description).sorted()
        report.attackersBanned = attackers.filter { cidr in banned.contains { attacker(cidr, $0) } }.count
        if !report.falseBans.isEmpty { report.failures.append("\(report.falseBans.count) addresses banned that no label names: \(report.falseBans.prefix(10).joined(separator: ", "))") }
        if report.malformed * 2 > report.lines { report.failures.append("\(report.malformed) of \(report.lines) lines do not parse as \(report.format)") }
        return report
    }
}

extension RealLogs.Report {
    /// One line of `guard evaluate`'s real-log table.
    public var row: String {
        let attackers = attackers == 0 ? "-" : "\(attackersBanned)/\(attackers)"
        return "\(log.padding(toLength: 34, withPad: " ", startingAt: 0)) \(format.padding(toLength: 15, withPad: " ", startingAt: 0))"
            + String(format: "%8d %6d %6d %5d %8d %6d %10d", lines, malformed, lateLines, days, clients, bannedClients, falseBans.count)
            + "  \(attackers)" + failures.map { "\n  FAIL \(log): \($0)" }.joined()
    }

    public static let header = "real log                           format             lines    bad   late  days  clients banned false bans  attackers banned"
}
