import Vocabulary
import SharedDecisions
import Testing

/// A row of the shared decisions table is input from other machines (issue 27, H1): before an edge
/// acts on it, it must hold what a real decision holds.
@Suite struct SharedRows {
    static func row(since: Int = 1_800_000_000, until: Int? = 1_800_000_600, offence: Int = 1, edge: String = "edge-a",
                    reason: String = "flood", condition: String = "flood requests=45 in 2s > burst 40 + 10/s") -> SharedDecision {
        SharedDecision(edge: edge, action: .ban, address: "203.0.113.9", since: since, until: until, offence: offence, reason: reason, condition: condition)
    }

    @Test func aRealDecisionPasses() {
        #expect(Self.row().problem == nil)
        #expect(Self.row(until: nil).problem == nil, "permanent")
    }

    @Test(arguments: [
        row(since: Int.min), row(since: Int.min, until: nil), row(until: 1_700_000_000), row(until: Int.max), row(offence: 0),
        row(offence: Int.max), row(edge: "edge-a\n[2026-01-01T00:00:00Z] UNBAN ip=1.2.3.4"), row(condition: "x\u{1B}[2J"),
        row(reason: String(repeating: "r", count: 5000)), row(edge: "e\u{2028}f"),
    ])
    func anImpossibleRowIsRefused(row: SharedDecision) {
        #expect(row.problem != nil)
    }
}
