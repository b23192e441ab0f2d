/// The two access-log formats the guard reads (the manifest's `guard.log_format`).
public enum AccessLogFormat: String, Sendable, CaseIterable {
    /// One JSON object per line, as `swiftdeploy init` configures nginx.
    case json
    /// nginx's and Apache's `combined` format.
    case combined
    /// `combined` followed by `"$http_x_forwarded_for"`: the only text format whose X-Forwarded-For
    /// the guard reads (from a trusted proxy); in plain `combined` a third quoted field is not XFF.
    case combinedXFF = "combined_xff"

    /// A `combined` line, with or without the forwarded-for field.
    public var isCombined: Bool { self != .json }
}
