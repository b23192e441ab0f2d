import Foundation

/// Plain twins of the guard's line parsers (`GuardLogParser`): a regular expression for `combined`
/// and its kin, `JSONSerialization` for the JSON format. What they read is what the fast parser must
/// read; `LineDifferential` holds the two against each other.
public enum ReferenceLine {
    /// The fields the guard takes from a line, as text (strings raw, escapes as written).
    public struct Fields: Equatable, Sendable {
        public var timestamp: Double
        /// The peer's 16 bytes (`ReferenceAddress`).
        public var peer: [UInt8]
        public var status: Int
        public var method: String
        public var path: String
        public var agent: String
        public var forwarded: String
    }

    /// `peer user [time] "request" status size "referrer" "agent" ["forwarded"]`, the way nginx writes
    /// it: the user field never holds a quote (nginx escapes it), so the first quote opens the request
    /// and the `[…]` right before it is the time; quoted fields end at a quote not escaped by a
    /// backslash; `forwarded` is read only with `readsForwarded`.
    public static func combined(_ line: String, readsForwarded: Bool, virtualHost: Bool = false) -> Fields? {
        let quoted = #"((?:[^"\\]|\\.)*)""#
        // Unicode scalars, not Characters: the fast parser reads bytes, and a quote or space followed
        // by a combining mark is one Character.
        let pattern = try! Regex((virtualHost ? "^[^ ]* " : "^") + #"([^ ]+) (?:[^"]* )?\[([^"]{26})\] ""# + quoted + #" (\d{3})(?= |$)"#)
            .matchingSemantics(.unicodeScalar)
        guard let head = try? pattern.prefixMatch(in: line), let peerText = head.output[1].substring,
              let timeText = head.output[2].substring, let request = head.output[3].substring, let statusText = head.output[4].substring,
              let peer = ReferenceAddress.parse(String(peerText)), let timestamp = ReferenceTime.combined(String(timeText)) else { return nil }
        // After the status: blanks, the size (anything up to a space), then up to three quoted fields.
        var rest = line[head.range.upperBound...]
        rest = Substring(rest.unicodeScalars.drop { " \t\r\n".unicodeScalars.contains($0) }.drop { $0 != " " })
        var fields: [String] = []
        let field = try! Regex(#"^[ \t\r\n]*""# + quoted).matchingSemantics(.unicodeScalar)
        while fields.count < 3, let match = try? field.prefixMatch(in: rest), let value = match.output[1].substring {
            fields.append(String(value))
            rest = rest[match.range.upperBound...]
        }
        let words = request.unicodeScalars.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false).map { String(String.UnicodeScalarView($0)) }
        return Fields(timestamp: timestamp, peer: peer, status: Int(statusText)!, method: String(words[0]),
                      path: words.count > 1 ? String(words[1]) : "", agent: fields.count >= 2 ? fields[1] : "",
                      forwarded: readsForwarded && fields.count == 3 ? fields[2] : "")
    }

    /// A comma right before `}` or `]` outside strings: not JSON, though Foundation's parser takes it
    /// (a fuzzer's `"status":404,}`); the guard's parser refuses it, as JSON does.
    static func hasTrailingComma(_ line: String) -> Bool {
        var inString = false, escaped = false, afterComma = false
        for scalar in line.unicodeScalars {
            if inString {
                if escaped { escaped = false } else if scalar == "\\" { escaped = true } else if scalar == "\"" { inString = false }
                continue
            }
            switch scalar {
            case "\"": inString = true; afterComma = false
            case ",": afterComma = true
            case "}", "]": if afterComma { return true }
            case " ", "\t", "\r", "\n": break
            default: afterComma = false
            }
        }
        return false
    }

    /// One JSON object per line (nginx `escape=json`): `msec` (or ISO 8601 `time`), `remote_addr`,
    /// `status`, `method`, `uri`, `ua`, `xff`. Strings are given back as written (escaped), as the
    /// guard hashes them. nil when the line is not such an object, or when it holds what the guard
    /// reads differently by design: a key written with escapes or twice, or bytes after the object.
    public static func json(_ line: String) -> Fields? {
        guard let data = line.data(using: .utf8), !hasTrailingComma(line),
              (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] != nil,
              let keys = plainKeys(line) else { return nil }
        // msec and status: a JSON number, or a string holding one (nginx writes `-` for none).
        func number(_ key: String) -> Double?? {
            guard keys.contains(key) else { return .some(nil) }
            let token = rawToken(line, key)
            if token.hasPrefix("\"") {
                let text = String(token.dropFirst().dropLast())
                return text == "-" ? 0 : Double(text).map { .some($0) } ?? nil
            }
            return Double(token).map { .some($0) } ?? nil
        }
        guard let msec = number("msec"), let status = number("status"), let statusValue = status,
              statusValue == statusValue.rounded(), (100...999).contains(statusValue) else { return nil }
        for key in ["time", "remote_addr", "xff", "method", "uri", "ua"] where keys.contains(key) && !rawToken(line, key).hasPrefix("\"") {
            return nil
        }
        let timeText = raw(line, "time")
        guard let timestamp = msec ?? (keys.contains("time") ? ReferenceTime.iso8601(timeText) : nil), timestamp.isFinite,
              let peer = ReferenceAddress.parse(raw(line, "remote_addr")) else { return nil }
        return Fields(timestamp: timestamp, peer: peer, status: Int(statusValue), method: raw(line, "method"), path: raw(line, "uri"),
                      agent: raw(line, "ua"), forwarded: raw(line, "xff"))
    }

    /// The keys of a line that is one object with distinct keys written without escapes and nothing
    /// after it; nil for any other line.
    static func plainKeys(_ line: String) -> Set<String>? {
        let trimmed = line.trimmingCharacters(in: CharacterSet(charactersIn: " \t\r\n"))
        guard trimmed.hasPrefix("{"), trimmed.hasSuffix("}") else { return nil }
        let key = try! Regex(#"[{,][ \t\r\n]*"((?:[^"\\]|\\.)*)"[ \t\r\n]*:"#).matchingSemantics(.unicodeScalar)
        let written = line.matches(of: key).compactMap { $0.output[1].substring.map(String.init) }
        let keys = Set(written)
        return keys.count == written.count && !written.contains { $0.contains("\\") } ? keys : nil
    }

    /// The value of `key` as written: a quoted string with its quotes, or the bare token.
    static func rawToken(_ line: String, _ key: String) -> String {
        let pattern = try! Regex(#"[{,][ \t\r\n]*""# + key + #""[ \t\r\n]*:[ \t\r\n]*("(?:[^"\\]|\\.)*"|[^,} \t\r\n]*)"#).matchingSemantics(.unicodeScalar)
        return line.firstMatch(of: pattern)?.output[1].substring.map(String.init) ?? ""
    }

    /// A string field's text as written, without its quotes, or "" when absent.
    static func raw(_ line: String, _ key: String) -> String {
        let pattern = try! Regex(#"[{,][ \t\r\n]*""# + key + #""[ \t\r\n]*:[ \t\r\n]*"((?:[^"\\]|\\.)*)""#).matchingSemantics(.unicodeScalar)
        return line.firstMatch(of: pattern)?.output[1].substring.map(String.init) ?? ""
    }
}
