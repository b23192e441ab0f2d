/// The two access-log formats the guard reads.
public enum AccessLogFormat: String, Sendable, CaseIterable {
    /// One JSON object per line, as `swiftdeploy init` configures nginx.
    case json
    /// nginx's and Apache's `combined` format.
    case combined
}

/// Turns access-log lines into `ClientEvent`s at full speed: bytes in, no Foundation, no string
/// copies on the hot path. Malformed lines are counted and a few kept as samples.
public struct GuardLogParser: Sendable {
    public let format: AccessLogFormat
    public let resolver: ClientResolver
    public private(set) var lines = 0
    public private(set) var badLines = 0
    /// The last few malformed lines (truncated), for the dashboard.
    public private(set) var badSamples: [String] = []

    public init(format: AccessLogFormat, resolver: ClientResolver) {
        self.format = format
        self.resolver = resolver
    }

    public mutating func parse(_ line: String) -> ClientEvent? {
        var bytes = Array(line.utf8)
        return bytes.withUnsafeMutableBufferPointer { parse(UnsafeBufferPointer($0)) }
    }

    public mutating func parse(_ bytes: UnsafeBufferPointer<UInt8>) -> ClientEvent? {
        lines += 1
        let event = format == .json ? Self.json(bytes, resolver) : Self.combined(bytes, resolver)
        if event == nil {
            badLines += 1
            if badSamples.count == 5 { badSamples.removeFirst() }
            badSamples.append(String(decoding: UnsafeBufferPointer(rebasing: bytes.prefix(300)), as: UTF8.self))
        }
        return event
    }

    static func json(_ bytes: UnsafeBufferPointer<UInt8>, _ resolver: ClientResolver) -> ClientEvent? {
        var reader = ByteReader(bytes: bytes)
        var timestamp = Double.nan, isoTime: Slice<UnsafeBufferPointer<UInt8>>?
        var peer: IPAddress?, forwarded: Slice<UnsafeBufferPointer<UInt8>> = bytes[0..<0], status = -1, sawForwarded = false
        reader.skipSpace()
        guard reader.take(UInt8(ascii: "{")) else { return nil }
        // Stops as soon as every field the guard needs is in hand: the rest of the line is not read.
        while !(sawForwarded && peer != nil && status >= 0 && !timestamp.isNaN) {
            reader.skipSpace()
            guard let key = reader.rawString() else { return nil }
            reader.skipSpace()
            guard reader.take(UInt8(ascii: ":")) else { return nil }
            reader.skipSpace()
            switch key.count {
            case 4 where equal(key, "msec"): guard let value = reader.number() else { return nil }; timestamp = value
            case 4 where equal(key, "time"): guard let value = reader.rawString() else { return nil }; isoTime = value
            case 11 where equal(key, "remote_addr"):
                guard let value = reader.rawString(), let address = IPAddress(bytes: UnsafeBufferPointer(rebasing: value)) else { return nil }
                peer = address
            case 3 where equal(key, "xff"): guard let value = reader.rawString() else { return nil }; forwarded = value; sawForwarded = true
            case 6 where equal(key, "status"): guard let value = reader.number() else { return nil }; status = Int(value)
            default: guard reader.skipValue() else { return nil }
            }
            reader.skipSpace()
            if reader.take(UInt8(ascii: ",")) { continue }
            guard reader.take(UInt8(ascii: "}")) else { return nil }
            break
        }
        if timestamp.isNaN, let isoTime {
            timestamp = ISO8601.seconds(String(decoding: UnsafeBufferPointer(rebasing: isoTime), as: UTF8.self)) ?? .nan
        }
        guard let peer, !timestamp.isNaN, status >= 100, status <= 999 else { return nil }
        return ClientEvent(timestamp: timestamp, client: resolver.client(peer: peer, forwardedFor: UnsafeBufferPointer(rebasing: forwarded)), status: status)
    }

    /// `1.2.3.4 - user [26/Nov/2026:02:30:00 +0000] "GET / HTTP/1.1" 200 123 "ref" "ua" ["xff"]`
    static func combined(_ bytes: UnsafeBufferPointer<UInt8>, _ resolver: ClientResolver) -> ClientEvent? {
        guard let space = bytes.firstIndex(of: 0x20),
              let peer = IPAddress(bytes: UnsafeBufferPointer(rebasing: bytes[0..<space])),
              let open = bytes[space...].firstIndex(of: UInt8(ascii: "[")),
              let close = bytes[open...].firstIndex(of: UInt8(ascii: "]")),
              let timestamp = CombinedTime.seconds(bytes[(open + 1)..<close]) else { return nil }
        // The request is quoted; the status follows its closing quote.
        guard let requestStart = bytes[close...].firstIndex(of: UInt8(ascii: "\"")) else { return nil }
        var index = requestStart + 1
        while index < bytes.count, bytes[index] != UInt8(ascii: "\"") {
            index += bytes[index] == UInt8(ascii: "\\") ? 2 : 1
        }
        index += 2
        var status = 0, digits = 0
        while index < bytes.count, bytes[index] >= 0x30, bytes[index] <= 0x39 {
            status = status * 10 + Int(bytes[index] - 0x30)
            digits += 1
            index += 1
        }
        guard digits == 3 else { return nil }
        // An optional trailing quoted X-Forwarded-For field (nginx's combined + "$http_x_forwarded_for").
        var forwarded = bytes[0..<0]
        if !resolver.trustedProxies.isEmpty, bytes.last == UInt8(ascii: "\""), bytes.count >= 2,
           let quote = bytes[..<(bytes.count - 1)].lastIndex(of: UInt8(ascii: "\"")) {
            forwarded = bytes[(quote + 1)..<(bytes.count - 1)]
        }
        return ClientEvent(timestamp: timestamp, client: resolver.client(peer: peer, forwardedFor: UnsafeBufferPointer(rebasing: forwarded)), status: status)
    }

    private static func equal(_ slice: Slice<UnsafeBufferPointer<UInt8>>, _ text: StaticString) -> Bool {
        text.withUTF8Buffer { expected in slice.elementsEqual(expected) }
    }
}

/// `26/Nov/2026:02:30:00 +0000` → seconds since the epoch.
enum CombinedTime {
    static let months: [String] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    static func seconds(_ bytes: Slice<UnsafeBufferPointer<UInt8>>) -> Double? {
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes), as: UTF8.self)
        let parts = text.split(whereSeparator: { $0 == "/" || $0 == ":" || $0 == " " })
        guard parts.count == 7, let day = Int(parts[0]), let month = months.firstIndex(of: String(parts[1])),
              let year = Int(parts[2]), let hour = Int(parts[3]), let minute = Int(parts[4]), let second = Int(parts[5]) else { return nil }
        let zone = parts[6]
        let iso = String(format: "%04d-%02d-%02dT%02d:%02d:%02d%@:%@", year, month + 1, day, hour, minute, second,
                         String(zone.prefix(3)), String(zone.suffix(2)))
        return ISO8601.seconds(iso)
    }
}

extension ByteReader {
    /// A string value without escapes decoded or copied (keys and addresses never need them);
    /// escaped content is skipped correctly.
    mutating func rawString() -> Slice<UnsafeBufferPointer<UInt8>>? {
        guard take(UInt8(ascii: "\"")) else { return nil }
        let start = index
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\\") { index += 2; continue }
            if byte == UInt8(ascii: "\"") {
                defer { index += 1 }
                return bytes[start..<index]
            }
            index += 1
        }
        return nil
    }
}
