import EdgeRules
import Foundation
import Telemetry
import Vocabulary

/// Holds a fast parser against its plain twin on one input: nil when they agree, else what differs.
/// The tests run it over generated inputs and the fuzz targets over every input libFuzzer makes
/// (a disagreement is a crash there).
public enum LineDifferential {
    /// The guard's parser and `ReferenceLine` on one line. For `combined` they must agree on every
    /// line that is UTF-8; for JSON on every line that is strict JSON with plain keys (the guard is
    /// lenient by design where nginx never writes: bytes after the object, escaped or repeated keys).
    public static func check(_ line: UnsafeBufferPointer<UInt8>, _ format: AccessLogFormat) -> String? {
        guard let text = String(validating: line, as: UTF8.self), !text.contains("\n") else { return nil }
        // Every proxy trusted: the client is the X-Forwarded-For's left-most hop of the run of hops that
        // read as addresses from the right, or the peer; both parsers' forwarded fields are checked so.
        var parser = GuardLogParser(format: format, resolver: ClientResolver(trustedProxies: [CIDR("0.0.0.0/0")!, CIDR("::/0")!]))
        let fast = parser.parse(line)
        let reference: ReferenceLine.Fields?
        switch format {
        case .json:
            guard let data = text.data(using: .utf8), (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] != nil,
                  ReferenceLine.plainKeys(text) != nil else { return nil }
            reference = ReferenceLine.json(text)
        default:
            reference = ReferenceLine.combined(text, readsForwarded: format == .combinedXFF, virtualHost: format == .vhostCombined)
        }
        let plausible = reference.flatMap { GuardLogParser.plausibleTimes.contains($0.timestamp) ? $0 : nil }
        switch (fast, plausible) {
        case (nil, nil): return nil
        case (let fast?, nil): return "fast read \(fast.timestamp) from \(fast.address), the reference nothing: \(text)"
        case (nil, let reference?): return "reference read \(reference), the fast parser nothing: \(text)"
        case (let fast?, let reference?):
            var differences: [String] = []
            if fast.timestamp.rounded(.down) != reference.timestamp.rounded(.down) { differences.append("time \(fast.timestamp) ≠ \(reference.timestamp)") }
            let client = forwardedClient(reference.forwarded) ?? reference.peer
            if bytes(of: fast.address) != client { differences.append("client \(fast.address) ≠ \(client)") }
            if fast.status != reference.status { differences.append("status \(fast.status) ≠ \(reference.status)") }
            // A path's identity is the target without its query string or fragment.
            let path = String(reference.path.prefix { $0 != "?" && $0 != "#" })
            if fast.path != hash(path) { differences.append("path ≠ \(path)") }
            if fast.agent != hash(reference.agent) { differences.append("agent ≠ \(reference.agent)") }
            return differences.isEmpty ? nil : differences.joined(separator: ", ") + ": " + text
        }
    }

    /// The twin of `IPAddress(bytes:)` on its own: both read the text or neither, to the same bits.
    public static func checkAddress(_ text: String) -> String? {
        let fast = IPAddress(text).map(bytes(of:)), reference = ReferenceAddress.parse(text)
        return fast == reference ? nil : "\(text): fast \(fast.map { "\($0)" } ?? "nil"), inet_pton \(reference.map { "\($0)" } ?? "nil")"
    }

    /// An address as 16 bytes, IPv4 mapped into IPv6 (as `inet_pton` and the guard both normalise).
    static func bytes(of address: IPAddress) -> [UInt8] {
        let words = address.isV4 ? (UInt64(0), UInt64(0xFFFF) << 32 | address.low) : (address.high, address.low)
        return withUnsafeBytes(of: words.0.bigEndian) { Array($0) } + withUnsafeBytes(of: words.1.bigEndian) { Array($0) }
    }

    /// The client a trusted peer's X-Forwarded-For names when every hop is trusted: walking from the
    /// right, the last hop that still reads as an address (nil when the right-most does not).
    static func forwardedClient(_ list: String) -> [UInt8]? {
        var client: [UInt8]?
        // By Unicode scalar (a comma or space followed by a combining mark is one Character), as the fast parser reads bytes.
        for hop in list.unicodeScalars.split(separator: ",", omittingEmptySubsequences: false).reversed() {
            let trimmed = hop.drop { $0 == " " }.reversed().drop { $0 == " " }.reversed()
            guard let address = ReferenceAddress.parse(String(String.UnicodeScalarView(trimmed))) else { break }
            client = address
        }
        return client
    }

    static func hash(_ text: String) -> UInt32 {
        var bytes = Array(text.utf8)
        return bytes.withUnsafeMutableBufferPointer { RequestClassifier.hash(UnsafeBufferPointer($0)) }
    }
}
