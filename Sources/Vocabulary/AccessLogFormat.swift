/// The access-log formats the guard reads (the manifest's `guard.log_format`).
public enum AccessLogFormat: String, Sendable, CaseIterable {
    /// Recognised from the first line that parses in one of the others (the default): the guard says
    /// which it chose.
    case auto
    /// One JSON object per line, as `swiftdeploy init` configures nginx.
    case json
    /// nginx's and Apache's `combined` format.
    case combined
    /// `combined` followed by `"$http_x_forwarded_for"`: the only text format whose X-Forwarded-For
    /// the guard reads (from a trusted proxy); in plain `combined` a third quoted field is not XFF.
    case combinedXFF = "combined_xff"
    /// Apache's and nginx's `common` (`combined` without referrer and agent).
    case common
    /// Apache's `vhost_combined` (`%v:%p` before `combined`), Debian's `other_vhosts_access.log`.
    case vhostCombined = "vhost_combined"

    /// A line of the `combined` family (read by one parser: `common` is `combined` cut short).
    public var isCombined: Bool { self != .auto && self != .json }
}
