/// One ban or unban as every edge of a site sees it: who decided, the address (or IPv6 prefix),
/// the rule and its figures, when it starts and ends, and the offence number it was.
public struct SharedDecision: Sendable, Equatable, Codable {
    public enum Action: String, Sendable, Codable {
        case ban
        case unban
    }

    /// Order in the shared table (assigned by the database; nil before it is written).
    public var id: Int64?
    /// The edge that decided.
    public var edge: String
    public var action: Action
    /// An address, or a prefix in CIDR notation (`2001:db8::/64`).
    public var address: String
    /// Unix seconds the ban started (for an unban: when it was lifted).
    public var since: Int
    /// Unix seconds the ban ends; nil is permanent (and for an unban).
    public var until: Int?
    public var offence: Int
    /// The rule that decided (`flood`, `z_score`, `manual`, …).
    public var reason: String
    /// Its figures, as the audit line gives them.
    public var condition: String

    public init(id: Int64? = nil, edge: String, action: Action, address: String, since: Int, until: Int?, offence: Int,
                reason: String, condition: String) {
        (self.id, self.edge, self.action, self.address, self.since, self.until) = (id, edge, action, address, since, until)
        (self.offence, self.reason, self.condition) = (offence, reason, condition)
    }

    /// Whether a ban is still in force at `second`.
    public func isInForce(at second: Int) -> Bool { action == .ban && (until ?? Int.max) > second }
}
