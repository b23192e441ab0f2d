import Telemetry

extension GuardEngine {
    /// How many requests ahead the engine is told to load a client's index entry (`far`) and its
    /// state (`near`).
    static let lookahead = (far: 8, near: 4)

    /// Before judging `events[position]`: tells the engine what it will judge a few requests later
    /// (`prefetch`), so those loads overlap the work in between. Changes nothing it decides.
    @inline(__always)
    public func prefetch(ahead position: Int, in events: UnsafeBufferPointer<ClientEvent>) {
        if position + Self.lookahead.far < events.count { prefetch(events[position + Self.lookahead.far], far: true) }
        if position + Self.lookahead.near < events.count { prefetch(events[position + Self.lookahead.near], far: false) }
    }
}
