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
            let msec = String(format: "%.3f", time)
            let escapedAgent = agent.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            return "{\"time\":\"\(ISO8601.format(whole))\",\"msec\":\(msec),\"remote_addr\":\"\(address)\",\"xff\":\"\",\"method\":\"\(method)\","
                + "\"uri\":\"\(path)\",\"status\":\(status),\"bytes\":512,\"request_time\":0.004,\"upstream_response_time\":\"0.004\","
                + "\"upstream\":\"stable\",\"ua\":\"\(escapedAgent)\"}"
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
