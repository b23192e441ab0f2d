import EdgeRules
import Vocabulary
#if canImport(Glibc)
import Glibc
#endif
/// Turns access-log lines into `ClientEvent`s at full speed: bytes in, no Foundation, no string
/// copies on the hot path. Malformed lines are counted and a few kept as samples.
public struct GuardLogParser: Sendable {
    /// The format asked for; `auto` until a line shows which it is.
    public let configured: AccessLogFormat
    /// The format lines are read in: the configured one, or for `auto` the one the first parsable
    /// line showed (nil until then).
    public private(set) var format: AccessLogFormat?
    public let resolver: ClientResolver
    public let classifier: RequestClassifier
    public private(set) var lines = 0
    public private(set) var badLines = 0
    /// The last few malformed lines (truncated), for the dashboard.
    public private(set) var badSamples: [String] = []
    /// Each distinct user agent is classified once.
    private var agentKinds = AgentKindCache()
    /// The last `combined` date and zone seen and the epoch second of that day's midnight there. The
    /// key holds every byte of `26/Nov/2026` (11) and of `+0000` (5), packed without loss into two
    /// words: two different days or zones never share it.
    private var lastDay: (head: UInt64, tail: UInt64, midnight: Int) = (0, 0, 0)

    public init(format: AccessLogFormat, resolver: ClientResolver, classifier: RequestClassifier = RequestClassifier()) {
        self.configured = format
        self.format = format == .auto ? nil : format
        self.resolver = resolver
        self.classifier = classifier
    }

    public mutating func parse(_ line: String) -> ClientEvent? {
        var bytes = Array(line.utf8)
        return bytes.withUnsafeMutableBufferPointer { parse(UnsafeBufferPointer($0)) }
    }

    public mutating func parse(_ bytes: UnsafeBufferPointer<UInt8>) -> ClientEvent? {
        lines += 1
        if format == nil { format = Self.recognise(bytes) }
        let fields: Fields?
        switch format {
        case .json?: fields = Self.json(bytes)
        case nil: fields = nil
        default: fields = combined(bytes)
        }
        guard let fields, Self.plausibleTimes.contains(fields.timestamp) else {
            badLines += 1
            if badSamples.count == 5 { badSamples.removeFirst() }
            badSamples.append(String(decoding: UnsafeBufferPointer(rebasing: bytes.prefix(300)), as: UTF8.self))
            return nil
        }
        return event(fields)
    }

    /// The format one line is in, or nil when it is in none the guard reads. A `combined` line whose
    /// third quoted field after the agent is an address list (or `-`) is `combined_xff`; one without
    /// referrer and agent is `common`.
    public static func recognise(_ bytes: UnsafeBufferPointer<UInt8>) -> AccessLogFormat? {
        if let fields = json(bytes), plausibleTimes.contains(fields.timestamp) { return .json }
        var probe = GuardLogParser(format: .combinedXFF, resolver: ClientResolver())
        guard let fields = probe.combined(bytes), plausibleTimes.contains(fields.timestamp) else {
            var vhost = GuardLogParser(format: .vhostCombined, resolver: ClientResolver())
            return vhost.combined(bytes).map { plausibleTimes.contains($0.timestamp) } == true ? .vhostCombined : nil
        }
        switch probe.quotedAfterStatus {
        case 0: return .common
        case 3 where isAddressList(UnsafeBufferPointer(rebasing: fields.forwarded)): return .combinedXFF
        default: return .combined
        }
    }

    /// `-`, or addresses separated by commas and spaces.
    static func isAddressList(_ text: UnsafeBufferPointer<UInt8>) -> Bool {
        if text.count == 1, text[0] == UInt8(ascii: "-") { return true }
        let parts = text.split(separator: UInt8(ascii: ","))
        return !parts.isEmpty && parts.allSatisfy { part in
            let trimmed = part.drop { $0 == 0x20 }.reversed().drop { $0 == 0x20 }.reversed()
            var address = Array(trimmed)
            return address.withUnsafeMutableBufferPointer { IPAddress(bytes: UnsafeBufferPointer($0)) } != nil
        }
    }

    /// How many quoted fields the last `combined` line had after its status and size.
    private var quotedAfterStatus = 0

    /// Times a real line can carry (2000 to 2100): a forged `msec` of the year 9999 or 1969 would move
    /// the guard's clock (every ban expiring at once) or its windows' arithmetic; such a line is malformed.
    public static let plausibleTimes = 946_684_800.0..<4_102_444_800.0

    /// The raw fields of one line, as slices of it.
    struct Fields {
        var timestamp: Double
        var peer: IPAddress
        var forwarded: Slice<UnsafeBufferPointer<UInt8>>
        var status: Int
        var method: Slice<UnsafeBufferPointer<UInt8>>
        var path: Slice<UnsafeBufferPointer<UInt8>>
        var agent: Slice<UnsafeBufferPointer<UInt8>>
    }

    private mutating func event(_ fields: Fields) -> ClientEvent {
        let (address, group) = resolver.resolve(peer: fields.peer, forwardedFor: UnsafeBufferPointer(rebasing: fields.forwarded))
        let path = UnsafeBufferPointer(rebasing: fields.path), agent = UnsafeBufferPointer(rebasing: fields.agent)
        let bare = RequestClassifier.withoutQuery(path)
        let agentHash = RequestClassifier.hash(agent)
        let agentKind = agentKinds.kind(of: agent, hash: agentHash) { classifier.agentKind($0) }
        var event = ClientEvent(timestamp: fields.timestamp, client: group, status: fields.status,
                                kind: classifier.kind(method: UnsafeBufferPointer(rebasing: fields.method), path: bare),
                                path: RequestClassifier.hash(bare), agent: agentHash, agentKind: agentKind, address: address)
        if event.isNotFound { event.isProbe = classifier.isProbe(path) }
        return event
    }

    static func json(_ bytes: UnsafeBufferPointer<UInt8>) -> Fields? {
        var reader = ByteReader(bytes: bytes)
        let empty = bytes[0..<0]
        var timestamp = Double.nan, isoTime: Slice<UnsafeBufferPointer<UInt8>>?
        var peer: IPAddress?, status = -1
        var forwarded = empty, method = empty, path = empty, agent = empty
        reader.skipSpace()
        guard reader.take(UInt8(ascii: "{")) else { return nil }
        while true {
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
            case 3 where equal(key, "xff"): guard let value = reader.rawString() else { return nil }; forwarded = value
            case 6 where equal(key, "status"): guard let value = reader.number().flatMap({ Int(exactly: $0) }) else { return nil }; status = value
            case 6 where equal(key, "method"): guard let value = reader.rawString() else { return nil }; method = value
            case 3 where equal(key, "uri"): guard let value = reader.rawString() else { return nil }; path = value
            case 2 where equal(key, "ua"): guard let value = reader.rawString() else { return nil }; agent = value
            default: guard reader.skipValue() else { return nil }
            }
            reader.skipSpace()
            if reader.take(UInt8(ascii: ",")) { continue }
            guard reader.take(UInt8(ascii: "}")) else { return nil }
            break
        }
        if timestamp.isNaN, let isoTime { timestamp = ISO8601.seconds(UnsafeBufferPointer(rebasing: isoTime)) ?? .nan }
        guard let peer, timestamp.isFinite, status >= 100, status <= 999 else { return nil }
        return Fields(timestamp: timestamp, peer: peer, forwarded: forwarded, status: status, method: method, path: path, agent: agent)
    }

    /// `1.2.3.4 - user [26/Nov/2026:02:30:00 +0000] "GET / HTTP/1.1" 200 123 "ref" "ua" ["xff"]`
    /// (`vhost_combined`: `example.org:443 ` first).
    /// The user is `$remote_user`, which a client sets (`Authorization: Basic`) and nginx writes with
    /// spaces and brackets as they are, but never a raw `"` (escaped as `\x22`). So the first quote
    /// starts the request, and nginx's own time is the `[…]` right before it: a forged time in the
    /// user field is never read. Then status, size, referrer, agent, and with `combined_xff` the
    /// X-Forwarded-For.
    mutating func combined(_ bytes: UnsafeBufferPointer<UInt8>) -> Fields? {
        let space = UInt8(ascii: " ")
        // `vhost_combined` starts with `host:port `: the peer follows it.
        let peerStart = format == .vhostCombined ? (bytes.firstIndex(of: space).map { $0 + 1 } ?? bytes.count) : 0
        guard let base = bytes.baseAddress, let peerEnd = bytes[peerStart...].firstIndex(of: space),
              let peer = IPAddress(bytes: UnsafeBufferPointer(rebasing: bytes[peerStart..<peerEnd])),
              // The first quote after the peer (a virtual host, from the client's Host header, may hold one).
              let found = memchr(base + peerEnd, Int32(UInt8(ascii: "\"")), bytes.count - peerEnd) else { return nil }
        let quote = base.distance(to: found.assumingMemoryBound(to: UInt8.self))
        // `… [26/Nov/2026:02:30:00 +0000] "`: 28 bytes of time and a space before the quote.
        let open = quote - 29
        guard open > peerEnd, bytes[open] == UInt8(ascii: "["), bytes[quote - 2] == UInt8(ascii: "]"), bytes[quote - 1] == space,
              bytes[open - 1] == space, let timestamp = time(bytes[(open + 1)..<(quote - 2)]) else { return nil }
        var reader = ByteReader(bytes: bytes, index: quote)
        guard let request = reader.rawString() else { return nil }
        let methodEnd = request.firstIndex(of: space) ?? request.endIndex
        let pathStart = min(methodEnd + 1, request.endIndex)
        let pathEnd = request[pathStart...].firstIndex(of: space) ?? request.endIndex
        guard reader.take(space) else { return nil }
        var status = 0, digits = 0
        while reader.index < bytes.count, bytes[reader.index] >= 0x30, bytes[reader.index] <= 0x39, digits < 3 {
            status = status * 10 + Int(bytes[reader.index] - 0x30)
            digits += 1
            reader.index += 1
        }
        guard digits == 3, reader.index == bytes.count || bytes[reader.index] == space else { return nil }
        var fields = Fields(timestamp: timestamp, peer: peer, forwarded: bytes[0..<0], status: status,
                            method: request[request.startIndex..<methodEnd], path: request[pathStart..<pathEnd], agent: bytes[0..<0])
        // Size, then the optional quoted referrer, agent and (combined_xff) forwarded-for.
        reader.skipSpace()
        while reader.index < bytes.count, bytes[reader.index] != space { reader.index += 1 }
        var quotedFields: [Slice<UnsafeBufferPointer<UInt8>>] = []
        while quotedFields.count < 3 {
            reader.skipSpace()
            guard let value = reader.rawString() else { break }
            quotedFields.append(value)
        }
        quotedAfterStatus = quotedFields.count
        if quotedFields.count >= 2 { fields.agent = quotedFields[1] }
        if format == .combinedXFF, quotedFields.count == 3 { fields.forwarded = quotedFields[2] }
        return fields
    }

    /// `26/Nov/2026:02:30:00 +0000` → seconds since the epoch, or nil when a field is out of range or
    /// the month has no such day. The day's midnight in its zone is computed once per day and zone.
    mutating func time(_ text: Slice<UnsafeBufferPointer<UInt8>>) -> Double? {
        let base = text.startIndex
        func digits(_ offset: Int, _ count: Int) -> Int? { Self.number(text, base + offset, count) }
        guard text.count == 26, text[base + 2] == UInt8(ascii: "/"), text[base + 6] == UInt8(ascii: "/"), text[base + 11] == UInt8(ascii: ":"),
              text[base + 14] == UInt8(ascii: ":"), text[base + 17] == UInt8(ascii: ":"), text[base + 20] == UInt8(ascii: " "),
              let hour = digits(12, 2), let minute = digits(15, 2), let second = digits(18, 2),
              hour < 24, minute < 60, second < 60 else { return nil }
        var head: UInt64 = 0, tail: UInt64 = 0
        for index in base..<(base + 8) { head = head << 8 | UInt64(text[index]) }
        for index in (base + 8)..<(base + 11) { tail = tail << 8 | UInt64(text[index]) }
        for index in (base + 21)..<(base + 26) { tail = tail << 8 | UInt64(text[index]) }
        if head != lastDay.head || tail != lastDay.tail {
            guard let midnight = Self.midnight(text) else { return nil }
            lastDay = (head, tail, midnight)
        }
        return Double(lastDay.midnight + hour * 3600 + minute * 60 + second)
    }

    /// The epoch second of midnight of `26/Nov/2026` in the zone `+0000` of a `combined` time.
    private static func midnight(_ text: Slice<UnsafeBufferPointer<UInt8>>) -> Int? {
        let base = text.startIndex
        func digits(_ offset: Int, _ count: Int) -> Int? { Self.number(text, base + offset, count) }
        let sign = text[base + 21]
        guard let day = digits(0, 2), let year = digits(7, 4), let zoneHours = digits(22, 2), let zoneMinutes = digits(24, 2),
              sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-"), zoneHours < 24, zoneMinutes < 60 else { return nil }
        let name = String(decoding: UnsafeBufferPointer(rebasing: text[(base + 3)..<(base + 6)]), as: UTF8.self)
        guard let month = months.firstIndex(of: name), ISO8601.isDate(year: year, month: month + 1, day: day) else { return nil }
        let offset = (zoneHours * 3600 + zoneMinutes * 60) * (sign == UInt8(ascii: "+") ? 1 : -1)
        return ISO8601.epoch(year: year, month: month + 1, day: day) - offset
    }

    /// The decimal number in `count` bytes from `start`; nil when one is not a digit.
    @inline(__always)
    static func number(_ text: Slice<UnsafeBufferPointer<UInt8>>, _ start: Int, _ count: Int) -> Int? {
        var value = 0
        for index in start..<(start + count) {
            let byte = text[index]
            guard byte >= 0x30, byte <= 0x39 else { return nil }
            value = value * 10 + Int(byte - 0x30)
        }
        return value
    }

    static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// Seconds since the epoch as a `combined` time in UTC: `15/Jan/2027:08:00:00 +0000`.
    public static func combinedTime(_ seconds: Int) -> String {
        let iso = Array(ISO8601.format(seconds))  // 2027-01-15T08:00:00Z
        let month = Int(String(iso[5..<7]))!
        return "\(String(iso[8..<10]))/\(months[month - 1])/\(String(iso[0..<4])):\(String(iso[11..<19])) +0000"
    }

    private static func equal(_ slice: Slice<UnsafeBufferPointer<UInt8>>, _ text: StaticString) -> Bool {
        text.withUTF8Buffer { expected in slice.elementsEqual(expected) }
    }
}

extension ByteReader {
    /// A string value without escapes decoded or copied (keys and addresses never need them);
    /// escaped content is skipped correctly.
    mutating func rawString() -> Slice<UnsafeBufferPointer<UInt8>>? {
        guard take(UInt8(ascii: "\"")) else { return nil }
        let start = index
        guard let base = bytes.baseAddress else { return nil }
        // memchr to each quote; a quote after an odd run of backslashes is escaped, so look on.
        var from = index
        while from < bytes.count {
            guard let found = memchr(base + from, Int32(UInt8(ascii: "\"")), bytes.count - from) else { return nil }
            let quote = base.distance(to: found.assumingMemoryBound(to: UInt8.self))
            var backslashes = 0
            while quote - backslashes - 1 >= start, bytes[quote - backslashes - 1] == UInt8(ascii: "\\") { backslashes += 1 }
            if backslashes % 2 == 0 {
                index = quote + 1
                return bytes[start..<quote]
            }
            from = quote + 1
        }
        return nil
    }

}
