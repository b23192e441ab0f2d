import Telemetry
import Vocabulary

/// What stops a guard command, with what to do about it.
public enum GuardCommandError: Error, Equatable, CustomStringConvertible {
    case notAnAddress(String)
    /// A range ban inside a wider range already banned.
    case insideRange(String, range: String)
    /// A range wider than a ban may hold.
    case tooWide(String)
    /// A manual ban of an address the guard must never ban.
    case shielded(String)
    case noSuchLog(String)
    /// The ip-to-ASN table named by `--asn-table` or `guard.asn_table` cannot be read.
    case noSuchTable(String)
    case unreadableLog(String, reason: String)
    /// More than half the lines of a replayed log do not parse: the wrong format, or not an access log.
    case mostlyMalformed(log: String, LogReadability)
    /// A manual ban or unban reached the firewall but not the store.
    case notSaved
    /// Writing, removing or starting the systemd unit failed.
    case unit(String)
    /// Another guard daemon runs on the same store (two would race for the log, the store and the port).
    case alreadyRunning(pid: Int32, store: String)

    public var description: String {
        switch self {
        case .notAnAddress(let text): "\(text) is not an IP address or range (like 203.0.113.9, 10.0.0.0/8, 2001:db8::1 or 2001:db8::/32)"
        case .tooWide(let text): "\(text) is wider than a ban may hold (/\(BanTarget.widest.v4) for IPv4, /\(BanTarget.widest.v6) for IPv6): it would cut off a large part of the Internet, likely your own way in"
        case .insideRange(let text, let range): "\(text) lies inside \(range), which is banned already; lift that first (`guard bans remove \(range)`) or leave it"
        case .shielded(let address): "\(address) is never banned: it is (or shares its IPv6 /64 with) an address in guard.allow, guard.trusted_proxies or this host's own; change those first"
        case .noSuchLog(let path): "no such log: \(path) (check guard.log in the manifest, or pass --log)"
        case .noSuchTable(let path): "cannot read the ip-to-ASN table \(path) (check guard.asn_table or --asn-table; iptoasn.com publishes one as ip2asn-combined.tsv)"
        case .unreadableLog(let path, let reason): "cannot read \(path): \(reason) (run as a user who may read it)"
        case .mostlyMalformed(let log, let reading):
            "\(log): \(reading.finding)\(reading.example): pass --format with the format the log is in (\(LogReadability.readable)), or \(LogReadability.remedy)"
        case .notSaved: "the change is in the firewall but not in the store; see the message above"
        case .unit(let problem): "guard unit: \(problem)"
        case .alreadyRunning(let pid, let store):
            "a guard daemon already runs on \(store) (pid \(pid)); stop it first (`systemctl stop swiftdeploy-guard`, or `kill \(pid)`), or give this one its own state_dir"
        }
    }
}
