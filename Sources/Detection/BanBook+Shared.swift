import Vocabulary

extension BanBook.Ban {
    /// The ban (or, for an unban, the lifted ban) another edge's decision describes, with its
    /// address grouped as this edge groups IPv6; nil when the address does not parse. The decision
    /// must have passed `SharedDecision.problem` first; the ban book checks the figures again.
    public init?(_ decision: SharedDecision, ipv6Prefix: Int) {
        let text = decision.address.split(separator: "/").first.map(String.init) ?? decision.address
        guard let address = IPAddress(text) else { return nil }
        self.init(ip: address.grouped(ipv6Prefix: ipv6Prefix), since: decision.since,
                  until: decision.action == .ban ? decision.until : decision.since, offence: decision.offence,
                  reason: "\(decision.reason) (edge \(decision.edge))")
    }
}
