import Foundation
import Telemetry
import Vocabulary

extension GeneratedRequest {
    /// The request as one access-log line, in the format nginx writes (`swiftdeploy init`'s JSON
    /// format or `combined`).
    public func line(_ format: AccessLogFormat) -> String {
        let whole = Int(time.rounded(.down))
        switch format {
        case .json, .auto:
            // The schema nginx is told to write (`AccessLogField`), so the readers are tested on its names.
            var line = "{", first = true
            for field in AccessLogField.allCases {
                line += (first ? "\"" : ",\"") + field.rawValue + "\":"
                first = false
                switch field {
                case .time: line += "\"" + ISO8601.format(whole) + "\""
                case .msec: line += String(format: "%.3f", time)
                case .remoteAddress: line += "\"" + address + "\""
                case .forwardedFor: line += "\"\""
                case .method: line += "\"" + method + "\""
                case .uri: line += "\"" + path + "\""
                case .status: line += String(status)
                case .bytes: line += "512"
                case .requestTime: line += "0.004"
                case .upstreamResponseTime: line += "\"0.004\""
                case .track: line += "\"stable\""
                case .userAgent: line += "\"" + agent.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
                }
            }
            return line + "}"
        case .combined, .combinedXFF, .common, .vhostCombined:
            let common = "\(address) - - [\(GuardLogParser.combinedTime(whole))] \"\(method) \(path) HTTP/1.1\" \(status) 512"
            if format == .common { return common }
            let line = common + " \"-\" \"\(agent)\""
            switch format {
            case .combinedXFF: return line + " \"-\""
            case .vhostCombined: return "www.example.org:443 " + line
            default: return line
            }
        }
    }
}
