/// One second of traffic: requests and errors, summed over the edges that reported it (one, for
/// what an edge publishes of itself).
public struct TrafficSecond: Sendable, Equatable, Codable {
    /// Unix second.
    public var second: Int
    public var requests: Int
    public var errors: Int
    public var edges: Int

    public init(second: Int, requests: Int, errors: Int, edges: Int = 1) {
        (self.second, self.requests, self.errors, self.edges) = (second, requests, errors, edges)
    }
}
