import Vocabulary

/// How much of a log the guard can read: lines, malformed lines, the format asked for and the one
/// lines were read in, and one malformed line. The daemon (over the last minute), `guard replay` and
/// `swiftdeploy validate` say what is wrong in these words, with what to do: a guard that cannot
/// read its log bans nobody, so it must be loud.
public struct LogReadability: Sendable, Equatable {
    public var lines: Int
    public var badLines: Int
    /// `guard.log_format` (or `--format`).
    public let configured: AccessLogFormat
    /// The format lines are read in: the configured one, or for `auto` the one recognised (nil when
    /// no line was in a format the guard reads).
    public var format: AccessLogFormat?
    /// One malformed line, as it was.
    public var sample: String?

    public init(lines: Int, badLines: Int, configured: AccessLogFormat, format: AccessLogFormat?, sample: String? = nil) {
        (self.lines, self.badLines, self.configured, self.format, self.sample) = (lines, badLines, configured, format, sample)
    }

    /// The share of lines that do not parse (0 without lines).
    public var share: Double { lines == 0 ? 0 : Double(badLines) / Double(lines) }

    /// A share of malformed lines above which a reader of the log says so (1%: a format that fits
    /// leaves almost none).
    public static let alarmShare = 0.01

    /// More than half the lines do not parse: the log is in another format, or is no access log.
    public var isMostlyMalformed: Bool { badLines * 2 > lines }

    /// The formats the guard reads, for messages.
    public static let readable = AccessLogFormat.allCases.filter { $0 != .auto }.map(\.rawValue).joined(separator: ", ")

    /// The format in words: `combined`, `combined (recognised from the log)`, or with `auto` and
    /// nothing recognised, `any format the guard reads (…)`.
    public var formatText: String {
        guard let format else { return "any format the guard reads (\(Self.readable))" }
        return configured == .auto ? "\(format.rawValue) (recognised from the log)" : format.rawValue
    }

    /// `180 of 200 lines (90.0%) do not parse as combined`.
    public var finding: String {
        "\(badLines) of \(lines) lines (\(Self.percent(share))) do not parse as \(formatText)"
    }

    /// The sample as a message shows it (`e.g. "…"`), or nothing without one.
    public var example: String { sample.map { "; e.g. \"\(Self.shown($0))\"" } ?? "" }

    /// What to do with the manifest.
    public static let remedy =
        "set guard.log_format to the format nginx writes (\(readable), or auto), or nginx's log_format to one of them (`swiftdeploy init` configures json)"

    /// `12.5%`; `<0.1%` for a share above 0 that would round to nothing.
    public static func percent(_ share: Double) -> String {
        let tenths = Int((share * 1000).rounded())
        return share > 0 && tenths == 0 ? "<0.1%" : "\(tenths / 10).\(tenths % 10)%"
    }

    /// A line as a one-line message may show it: at most 120 characters, control characters as `?`.
    public static func shown(_ line: String) -> String {
        let cut = line.count > 120 ? String(line.prefix(120)) + "…" : line
        return String(cut.map { $0.asciiValue.map { $0 < 0x20 || $0 == 0x7F } == true ? "?" : $0 })
    }

    /// A parser's totals: every line it was given.
    public init(_ parser: GuardLogParser) {
        self.init(lines: parser.lines, badLines: parser.badLines, configured: parser.configured, format: parser.format,
                  sample: parser.badSamples.last)
    }

    /// Lines judged in `configured`; with `auto`, a line is readable when it is in any format the
    /// guard reads, and `format` is the one most lines are in.
    public static func judge(_ lines: [[UInt8]], in configured: AccessLogFormat) -> LogReadability {
        var parser = GuardLogParser(format: configured, resolver: ClientResolver())
        var result = LogReadability(lines: lines.count, badLines: 0, configured: configured, format: parser.format)
        var recognised: [AccessLogFormat: Int] = [:]
        for line in lines {
            let readable = line.withUnsafeBufferPointer { bytes in
                guard configured == .auto else { return parser.parse(bytes) != nil }
                guard let format = GuardLogParser.recognise(bytes) else { return false }
                recognised[format, default: 0] += 1
                return true
            }
            guard !readable else { continue }
            result.badLines += 1
            result.sample = String(decoding: line, as: UTF8.self)
        }
        if configured == .auto {
            result.format = AccessLogFormat.allCases.filter { recognised[$0] != nil }.max { recognised[$0]! < recognised[$1]! }
        }
        return result
    }
}
