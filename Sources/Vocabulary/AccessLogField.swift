/// The fields of the JSON access log SwiftDeploy generates for nginx (`log_format swiftdeploy`), in
/// the order nginx writes them: one schema for the writer (`NginxConfig`) and the readers
/// (`JSONLogLine` for the canary, `GuardLogParser` for the guard, each taking the fields it needs).
public enum AccessLogField: String, CaseIterable, Sendable {
    case time, msec
    case remoteAddress = "remote_addr", forwardedFor = "xff"
    case method, uri, status, bytes
    case requestTime = "request_time", upstreamResponseTime = "upstream_response_time"
    /// The traffic track that served the request (`stable` or `canary`).
    case track = "upstream"
    case userAgent = "ua"

    /// What nginx writes for the field in a `log_format … escape=json` line: a variable, quoted when it is text.
    public var nginxValue: String {
        switch self {
        case .time: "\"$time_iso8601\""
        case .msec: "$msec"
        case .remoteAddress: "\"$remote_addr\""
        case .forwardedFor: "\"$http_x_forwarded_for\""
        case .method: "\"$request_method\""
        case .uri: "\"$request_uri\""
        case .status: "$status"
        case .bytes: "$body_bytes_sent"
        case .requestTime: "$request_time"
        case .upstreamResponseTime: "\"$upstream_response_time\""
        case .track: "\"$swiftdeploy_track\""
        case .userAgent: "\"$http_user_agent\""
        }
    }
}
