import Foundation
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// swift-log records as journal entries with fields (the journal's native protocol), so
/// `journalctl -u swiftdeploy-guard SWIFTDEPLOY_ACTION=ban` finds every ban and its figures:
/// the message, its priority, and each metadata key as `SWIFTDEPLOY_<KEY>`. Used when systemd
/// connected the daemon's output to the journal (`JOURNAL_STREAM`); a terminal gets plain lines.
public struct JournalLogHandler: LogHandler {
    public static let defaultSocket = "/run/systemd/journal/socket"
    public let label: String
    public let socketPath: String
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .info

    public init(label: String, socketPath: String = JournalLogHandler.defaultSocket) {
        self.label = label
        self.socketPath = socketPath
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    /// Whether standard output is the journal stream systemd set up (`JOURNAL_STREAM=device:inode`).
    public static func outputIsJournal(environment: [String: String] = ProcessInfo.processInfo.environment) -> Bool {
        guard let stream = environment["JOURNAL_STREAM"] else { return false }
        let parts = stream.split(separator: ":").compactMap { UInt64($0) }
        var status = stat()
        guard parts.count == 2, fstat(STDOUT_FILENO, &status) == 0 else { return false }
        return UInt64(status.st_dev) == parts[0] && UInt64(status.st_ino) == parts[1]
    }

    public func log(level: Logger.Level, message: Logger.Message, metadata explicit: Logger.Metadata?, source: String,
                    file: String, function: String, line: UInt) {
        var fields: [(String, String)] = [
            ("MESSAGE", message.description), ("PRIORITY", String(Self.priority(level))), ("SYSLOG_IDENTIFIER", "swiftdeploy"),
            ("SWIFTDEPLOY_LOGGER", label), ("CODE_FILE", file), ("CODE_LINE", String(line)), ("CODE_FUNC", function),
        ]
        for (key, value) in metadata.merging(explicit ?? [:], uniquingKeysWith: { $1 }).sorted(by: { $0.key < $1.key }) {
            fields.append(("SWIFTDEPLOY_" + Self.fieldName(key), value.description))
        }
        UnixDatagram.send(Self.encode(fields), to: socketPath)
    }

    /// syslog's numbers: 7 debug … 2 critical.
    static func priority(_ level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: 7
        case .info: 6
        case .notice: 5
        case .warning: 4
        case .error: 3
        case .critical: 2
        }
    }

    /// A journal field name: upper-case letters, digits and underscores.
    static func fieldName(_ key: String) -> String {
        String(key.uppercased().map { $0.isASCII && ($0.isLetter || $0.isNumber) ? $0 : "_" })
    }

    /// The native protocol: `KEY=value\n`, or for a value with a newline `KEY\n`, its length as
    /// 64-bit little endian, the value and `\n`.
    static func encode(_ fields: [(String, String)]) -> [UInt8] {
        var bytes: [UInt8] = []
        for (key, value) in fields {
            bytes += Array(key.utf8)
            let data = Array(value.utf8)
            if data.contains(UInt8(ascii: "\n")) {
                bytes.append(UInt8(ascii: "\n"))
                withUnsafeBytes(of: UInt64(data.count).littleEndian) { bytes += $0 }
            } else {
                bytes.append(UInt8(ascii: "="))
            }
            bytes += data
            bytes.append(UInt8(ascii: "\n"))
        }
        return bytes
    }
}
