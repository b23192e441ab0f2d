import Telemetry
import Vocabulary

/// Cohorts of quiet addresses (issue 30): counted in each client's own record, looked at once a
/// minute of log time, and a /24 or /48 that stays flagged with no person in it banned as a range,
/// on the ban schedule like any client.
extension GuardEngine {
    /// Counts one request in its client's record; once a minute, looks at the cohorts and bans the ripe ones.
    mutating func judgeCohorts(_ event: ClientEvent, slot: Int, at second: Int) {
        clients[slot].visitor.count(event)
        guard cohorts?.isDue(at: second) == true else { return }
        let horizon = second - (cohorts?.settings.window ?? 0)
        var visitors: [(client: IPAddress, visitor: CohortWatch.Visitor)] = []
        visitors.reserveCapacity(index.count)
        for client in clients where client.isTracked && client.lastSeen > horizon { visitors.append((client.ip, client.visitor)) }
        cohorts?.look(at: second, visitors: visitors)
        for (finding, ended) in cohorts?.drain() ?? [] {
            var decision = GuardDecision(at: second, action: .cohort, ip: nil, duration: nil,
                                         condition: ended ? "released: not found for \(second - finding.lastSeen) s (last: \(finding.why))"
                                             : "challenged: \(finding.why)", rate: 0, baseline: 0)
            decision.cohort = finding.key
            pending.append(decision)
        }
        for finding in cohorts?.ripe(at: second) ?? [] { banCohort(finding, at: second) }
    }

    /// What a request from `client` meets from the cohorts (`CohortWatch.verdict`); a client the
    /// engine does not track, or never judges (allow list, proxies), passes.
    public func cohortVerdict(for client: IPAddress) -> (verdict: CohortVerdict, finding: CohortWatch.Finding?) {
        guard let cohorts, let slot = index.slot(of: client), !clients[Int(slot)].shielded else { return (.pass, nil) }
        return cohorts.verdict(for: client, clients[Int(slot)].visitor)
    }

    /// Bans a cohort's range unless it is shielded, already banned, or inside a wider banned range.
    mutating func banCohort(_ finding: CohortWatch.Finding, at second: Int) {
        guard let target = finding.key.range, banBook.active[target] == nil, !config.shields(target), rangeFits(target) else { return }
        let length = banBook.nextLength(target, at: second)
        let until = absorbRanges(inside: target, at: second, until: length.map { second + $0 })
        let ban = banBook.ban(target, at: second, reason: "cohort", length: .some(until.map { $0 - second }))
        // The evidence is spent: a ban again needs new requests after this one ends, not the same.
        cohorts?.forget(finding.key)
        for slot in clients.indices where clients[slot].isTracked && target.covers(clients[slot].ip) { clients[slot].visitor.spend() }
        var decision = GuardDecision(at: second, action: .ban, ip: target.address, duration: ban.duration,
                                     condition: "cohort \(target): \(finding.why)", rate: 0, baseline: 0, offence: ban.offence)
        (decision.rule, decision.cohort) = (.cohort, finding.key)
        (decision.ban, decision.offenceRecord) = (ban, banBook.offence(target))
        pending.append(decision)
    }
}
