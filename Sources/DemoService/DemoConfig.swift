/// Which traffic track a demo instance serves; shown in `X-Mode` and `app_mode`.
public enum TrackMode: String, Sendable, CaseIterable {
    case stable
    case canary

    /// The `app_mode` gauge value: 0 stable, 1 canary.
    var gaugeValue: Int { self == .stable ? 0 : 1 }
}

/// How a demo instance is started: where it listens and what it says it is.
public struct DemoConfig: Sendable {
    public var host: String
    public var port: Int
    public var mode: TrackMode
    public var version: String

    public init(host: String = "127.0.0.1", port: Int = 3000, mode: TrackMode = .stable, version: String = "1.0.0") {
        self.host = host
        self.port = port
        self.mode = mode
        self.version = version
    }
}
