import Vocabulary

extension BanBook.Ban {
    /// The ban (or, for an unban, the lifted ban) another edge's decision describes: a client, its
    /// IPv6 address grouped as this edge groups it, or a range (an IPv6 prefix as long as this
    /// edge's group is that client); nil when the address does not parse. The decision must have
    /// passed `SharedDecision.problem` first; the ban book checks the figures again.
    public init?(_ decision: SharedDecision, ipv6Prefix: Int) {
        guard let target = BanTarget(decision.address) else { return nil }
        self.init(target: target.grouped(ipv6Prefix: ipv6Prefix), since: decision.since,
                  until: decision.action == .ban ? decision.until : decision.since, offence: decision.offence,
                  reason: "\(decision.reason) (edge \(decision.edge))")
    }
}
