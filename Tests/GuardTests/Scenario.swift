import Detection
import Telemetry
import Vocabulary

/// Builds deterministic traffic: each client sends at a fixed rate, evenly spaced, from a start
/// second for a number of seconds; events from all clients are merged in time order.
struct Scenario {
    static let t0 = 1_800_000_000  // 2027-01-15T08:00:00Z
    static let crowdPrefix = "10.0"

    var events: [ClientEvent] = []

    mutating func steady(_ client: String, rate: Double, from start: Int, seconds: Int, errorShare: Double = 0) {
        let address = IPAddress(client)!
        let count = Int((rate * Double(seconds)).rounded())
        var errors = 0.0
        for index in 0..<count {
            errors += errorShare
            let isError = errors >= 1
            if isError { errors -= 1 }
            events.append(ClientEvent(timestamp: Double(start) + Double(index) / rate, client: address, status: isError ? 404 : 200))
        }
    }

    /// `count` ordinary clients `<prefix>.x.y` at `rate` each.
    mutating func crowd(_ count: Int, rate: Double, from start: Int, seconds: Int, prefix: String = crowdPrefix) {
        for index in 0..<count {
            steady("\(prefix).\(index / 250).\(index % 250 + 1)", rate: rate, from: start, seconds: seconds)
        }
    }

    /// Runs the engine over the events (in time order) and `tail` seconds more; returns every decision
    /// except baseline recalcs.
    func run(_ config: GuardConfig = GuardConfig(), tail: Int = 0) -> [GuardDecision] {
        var engine = GuardEngine(config: config)
        return feed(&engine, tail: tail)
    }

    /// Feeds the events to an engine that may already have a past.
    func feed(_ engine: inout GuardEngine, tail: Int = 0) -> [GuardDecision] {
        var decisions: [GuardDecision] = []
        let ordered = events.sorted { ($0.timestamp, $0.client) < ($1.timestamp, $1.client) }
        for event in ordered {
            engine.ingest(event)
            decisions += engine.drain()
        }
        if let last = ordered.last { engine.advance(to: Int(last.timestamp) + tail) }
        decisions += engine.drain()
        return decisions.filter { $0.action != .baselineRecalc }
    }
}
