import Vocabulary
/// One request as nginx logged it, in the JSON format `swiftdeploy init` generates.
public struct AccessLogEntry: Sendable, Equatable {
    /// Seconds since the epoch (from `msec`, or `time` when `msec` is absent).
    public var timestamp: Double
    public var remoteAddress: String
    public var forwardedFor: String
    public var method: String
    public var uri: String
    public var status: Int
    public var bytes: Int
    /// Seconds nginx spent on the request.
    public var requestTime: Double
    /// The traffic track (`stable`/`canary`), nil when the line has none.
    public var track: Track?
    public var userAgent: String

    public init(timestamp: Double, remoteAddress: String = "", forwardedFor: String = "", method: String = "GET", uri: String = "/",
                status: Int, bytes: Int = 0, requestTime: Double = 0, track: Track? = nil, userAgent: String = "") {
        self.timestamp = timestamp
        self.remoteAddress = remoteAddress
        self.forwardedFor = forwardedFor
        self.method = method
        self.uri = uri
        self.status = status
        self.bytes = bytes
        self.requestTime = requestTime
        self.track = track
        self.userAgent = userAgent
    }
}

/// Reads nginx JSON access-log lines byte by byte (no Foundation decoder on the hot path): any
/// field order, unknown fields skipped, escapes decoded. A line that is not such an object is nil.
public enum JSONLogLine {
    public static func parse(_ line: String) -> AccessLogEntry? {
        var bytes = Array(line.utf8)
        return bytes.withUnsafeMutableBufferPointer { parse(UnsafeBufferPointer($0)) }
    }

    public static func parse(_ bytes: UnsafeBufferPointer<UInt8>) -> AccessLogEntry? {
        var reader = ByteReader(bytes: bytes)
        var entry = AccessLogEntry(timestamp: .nan, status: -1)
        var isoTime: String?
        reader.skipSpace()
        guard reader.take(UInt8(ascii: "{")) else { return nil }
        reader.skipSpace()
        if reader.take(UInt8(ascii: "}")) { return nil }
        while true {
            reader.skipSpace()
            guard let key = reader.string() else { return nil }
            reader.skipSpace()
            guard reader.take(UInt8(ascii: ":")) else { return nil }
            reader.skipSpace()
            switch AccessLogField(rawValue: key) {
            case .msec: guard let value = reader.number() else { return nil }; entry.timestamp = value
            case .time: guard let value = reader.string() else { return nil }; isoTime = value
            case .remoteAddress: guard let value = reader.string() else { return nil }; entry.remoteAddress = value
            case .forwardedFor: guard let value = reader.string() else { return nil }; entry.forwardedFor = value
            case .method: guard let value = reader.string() else { return nil }; entry.method = value
            case .uri: guard let value = reader.string() else { return nil }; entry.uri = value
            case .status: guard let value = reader.number().flatMap({ Int(exactly: $0) }) else { return nil }; entry.status = value
            case .bytes: guard let value = reader.number().flatMap({ Int(exactly: $0) }) else { return nil }; entry.bytes = value
            case .requestTime: guard let value = reader.number() else { return nil }; entry.requestTime = value
            case .track: guard let value = reader.string() else { return nil }; entry.track = Track(rawValue: value)
            case .userAgent: guard let value = reader.string() else { return nil }; entry.userAgent = value
            case .upstreamResponseTime, nil: guard reader.skipValue() else { return nil }
            }
            reader.skipSpace()
            if reader.take(UInt8(ascii: ",")) { continue }
            guard reader.take(UInt8(ascii: "}")) else { return nil }
            break
        }
        if entry.timestamp.isNaN, let isoTime { entry.timestamp = ISO8601.seconds(isoTime) ?? .nan }
        guard !entry.timestamp.isNaN, entry.status >= 100, entry.status <= 999 else { return nil }
        return entry
    }
}

/// A cursor over one line's bytes with just enough JSON to read flat objects.
struct ByteReader {
    let bytes: UnsafeBufferPointer<UInt8>
    var index = 0

    mutating func skipSpace() {
        while index < bytes.count, bytes[index] == 0x20 || bytes[index] == 0x09 || bytes[index] == 0x0D || bytes[index] == 0x0A { index += 1 }
    }

    mutating func take(_ byte: UInt8) -> Bool {
        guard index < bytes.count, bytes[index] == byte else { return false }
        index += 1
        return true
    }

    mutating func string() -> String? {
        guard take(UInt8(ascii: "\"")) else { return nil }
        let start = index
        // Fast path: no escapes.
        while index < bytes.count, bytes[index] != UInt8(ascii: "\""), bytes[index] != UInt8(ascii: "\\") { index += 1 }
        guard index < bytes.count else { return nil }
        if bytes[index] == UInt8(ascii: "\"") {
            defer { index += 1 }
            return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
        }
        var out = Array(bytes[start..<index])
        while index < bytes.count {
            let byte = bytes[index]
            index += 1
            if byte == UInt8(ascii: "\"") { return String(decoding: out, as: UTF8.self) }
            guard byte == UInt8(ascii: "\\") else { out.append(byte); continue }
            guard index < bytes.count else { return nil }
            let escaped = bytes[index]
            index += 1
            switch escaped {
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "u"):
                guard index + 4 <= bytes.count, let code = UInt32(String(decoding: UnsafeBufferPointer(rebasing: bytes[index..<index + 4]), as: UTF8.self), radix: 16) else { return nil }
                index += 4
                let scalar = Unicode.Scalar(code) ?? "\u{FFFD}"
                out.append(contentsOf: Array(String(Character(scalar)).utf8))
            default: out.append(escaped)
            }
        }
        return nil
    }

    mutating func number() -> Double? {
        // nginx writes "-" for a missing number in some fields; a quoted number is accepted too.
        if index < bytes.count, bytes[index] == UInt8(ascii: "\"") {
            guard let text = string() else { return nil }
            return Double(text) ?? (text == "-" ? 0 : nil)
        }
        let start = index
        while index < bytes.count, (bytes[index] >= 0x30 && bytes[index] <= 0x39) || bytes[index] == UInt8(ascii: ".")
            || bytes[index] == UInt8(ascii: "-") || bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            index += 1
        }
        guard index > start else { return nil }
        return fastDouble(start, index)
    }

    /// Integer and simple decimal forms without allocating; anything else through Double(String).
    private func fastDouble(_ start: Int, _ end: Int) -> Double? {
        var whole: Double = 0, fraction: Double = 0, scale: Double = 1, seenDot = false, negative = false
        var position = start
        if bytes[position] == UInt8(ascii: "-") { negative = true; position += 1 }
        guard position < end else { return nil }
        while position < end {
            let byte = bytes[position]
            if byte == UInt8(ascii: ".") {
                if seenDot { return nil }
                seenDot = true
            } else if byte >= 0x30 && byte <= 0x39 {
                if seenDot { scale /= 10; fraction += Double(byte - 0x30) * scale } else { whole = whole * 10 + Double(byte - 0x30) }
            } else {
                return Double(String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<end]), as: UTF8.self))
            }
            position += 1
        }
        let value = whole + fraction
        return negative ? -value : value
    }

    mutating func skipValue() -> Bool {
        skipSpace()
        guard index < bytes.count else { return false }
        switch bytes[index] {
        case UInt8(ascii: "\""): return rawString() != nil
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            var depth = 0
            while index < bytes.count {
                let byte = bytes[index]
                if byte == UInt8(ascii: "\"") { guard rawString() != nil else { return false }; continue }
                if byte == UInt8(ascii: "{") || byte == UInt8(ascii: "[") { depth += 1 }
                if byte == UInt8(ascii: "}") || byte == UInt8(ascii: "]") { depth -= 1 }
                index += 1
                if depth == 0 { return true }
            }
            return false
        default:
            while index < bytes.count, bytes[index] != UInt8(ascii: ","), bytes[index] != UInt8(ascii: "}") { index += 1 }
            return true
        }
    }
}

/// `2026-01-01T12:00:07+00:00` or `…Z` → seconds since the epoch, and back.
public enum ISO8601 {
    /// Whole seconds since the epoch as `2026-01-01T12:00:07Z`.
    public static func format(_ seconds: Int) -> String {
        let days = seconds >= 0 ? seconds / 86400 : (seconds - 86399) / 86400
        let secondOfDay = seconds - days * 86400
        // Civil from days (Howard Hinnant's algorithm).
        let z = days + 719468
        let era = (z >= 0 ? z : z - 146096) / 146097
        let doe = z - era * 146097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yoe + era * 400 + (month <= 2 ? 1 : 0)
        func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(year)-\(two(month))-\(two(day))T\(two(secondOfDay / 3600)):\(two(secondOfDay % 3600 / 60)):\(two(secondOfDay % 60))Z"
    }

    /// `2026-01-01T12:00:07`, optionally `.fraction`, then `Z`, `±hh:mm`, `±hhmm`, `±hh` or nothing
    /// (UTC); a space may stand for the `T`. Anything else, a field out of range or a day the month
    /// does not have, is nil. The fraction is dropped (the guard counts whole seconds).
    public static func seconds(_ text: String) -> Double? {
        var bytes = Array(text.utf8)
        return bytes.withUnsafeMutableBufferPointer { seconds(UnsafeBufferPointer($0)) }
    }

    public static func seconds(_ bytes: UnsafeBufferPointer<UInt8>) -> Double? {
        guard bytes.count >= 19 else { return nil }
        func number(_ range: Range<Int>) -> Int? {
            var value = 0
            for index in range {
                guard bytes[index] >= 0x30 && bytes[index] <= 0x39 else { return nil }
                value = value * 10 + Int(bytes[index] - 0x30)
            }
            return value
        }
        guard bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"),
              bytes[10] == UInt8(ascii: "T") || bytes[10] == UInt8(ascii: " "), bytes[13] == UInt8(ascii: ":"), bytes[16] == UInt8(ascii: ":"),
              let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
              let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19),
              isDate(year: year, month: month, day: day), hour < 24, minute < 60, second < 60 else { return nil }
        var rest = 19
        if rest < bytes.count, bytes[rest] == UInt8(ascii: ".") {
            rest += 1
            let digits = rest
            while rest < bytes.count, bytes[rest] >= 0x30 && bytes[rest] <= 0x39 { rest += 1 }
            guard rest > digits else { return nil }
        }
        var offset = 0
        if rest < bytes.count {
            let sign = bytes[rest]
            if sign == UInt8(ascii: "Z"), rest + 1 == bytes.count {
                offset = 0
            } else {
                guard sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-"), let hours = number((rest + 1)..<min(rest + 3, bytes.count)),
                      rest + 3 <= bytes.count else { return nil }
                var minutes = 0
                switch bytes.count - rest {
                case 3: break
                case 5: guard let value = number((rest + 3)..<(rest + 5)) else { return nil }; minutes = value
                case 6: guard bytes[rest + 3] == UInt8(ascii: ":"), let value = number((rest + 4)..<(rest + 6)) else { return nil }; minutes = value
                default: return nil
                }
                guard hours < 24, minutes < 60 else { return nil }
                offset = (hours * 3600 + minutes * 60) * (sign == UInt8(ascii: "+") ? 1 : -1)
            }
        }
        return Double(epoch(year: year, month: month, day: day) + hour * 3600 + minute * 60 + second - offset)
    }

    /// Whether a civil date exists (month 1–12, the month's days, 29 February in leap years only).
    public static func isDate(year: Int, month: Int, day: Int) -> Bool {
        guard (1...12).contains(month), day >= 1 else { return false }
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
        let days = month == 2 ? (leap ? 29 : 28) : (month == 4 || month == 6 || month == 9 || month == 11 ? 30 : 31)
        return day <= days
    }

    /// Seconds since the epoch at midnight UTC of a civil date (Howard Hinnant's days-from-civil).
    public static func epoch(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return (era * 146097 + doe - 719468) * 86400
    }
}
