import Telemetry
import Vocabulary

/// Cohorts of quiet addresses (issue 30): counted beside the clients, and a /24 or /48 that stays
/// flagged with no person in it banned as a range, on the ban schedule like any client.
extension GuardEngine {
    /// Counts one request in the cohorts; after each of their looks, bans the ripe ones.
    mutating func judgeCohorts(_ event: ClientEvent, at second: Int) {
        let before = cohorts?.looks ?? 0
        cohorts?.ingest(event)
        guard let watch = cohorts, watch.looks != before else { return }
        for finding in watch.ripe(at: second) { banCohort(finding, at: second) }
    }

    /// Bans a cohort's range unless it is shielded, already banned, or inside a wider banned range.
    mutating func banCohort(_ finding: CohortWatch.Finding, at second: Int) {
        guard let target = finding.key.range, banBook.active[target] == nil, !config.shields(target), rangeFits(target) else { return }
        absorbRanges(inside: target, at: second)
        let ban = banBook.ban(target, at: second, reason: "cohort")
        var decision = GuardDecision(at: second, action: .ban, ip: target.address, duration: ban.duration,
                                     condition: "cohort \(target): \(finding.why)", rate: 0, baseline: 0, offence: ban.offence)
        decision.rule = .cohort
        (decision.ban, decision.offenceRecord) = (ban, banBook.offence(target))
        pending.append(decision)
    }
}
