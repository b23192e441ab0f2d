/// The two access-log formats the guard reads (the manifest's `guard.log_format`).
public enum AccessLogFormat: String, Sendable, CaseIterable {
    /// One JSON object per line, as `swiftdeploy init` configures nginx.
    case json
    /// nginx's and Apache's `combined` format.
    case combined
}
