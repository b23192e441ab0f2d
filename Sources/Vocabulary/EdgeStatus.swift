/// One edge as the others see it: its last heartbeat and what it was doing then.
public struct EdgeStatus: Sendable, Equatable, Codable {
    public var edge: String
    /// Unix seconds of its last heartbeat.
    public var heartbeat: Int
    public var linesPerSecond: Double
    public var bans: Int

    public init(edge: String, heartbeat: Int, linesPerSecond: Double, bans: Int) {
        (self.edge, self.heartbeat, self.linesPerSecond, self.bans) = (edge, heartbeat, linesPerSecond, bans)
    }
}
