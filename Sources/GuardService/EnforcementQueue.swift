import Detection
import Firewall
import Vocabulary

/// The firewall changes decided but not yet in the kernel: per address, the ban its latest decision
/// made (with its end) or a lift. It holds what was decided, never reads the ban book back. `flush`
/// sends them in one batch (a burst of bans is one transaction); a refused batch is tried again entry
/// by entry (at most `singleTries`), so one entry the firewall will not take never holds back the
/// others, and what is still refused waits for the next flush, a second later.
struct EnforcementQueue {
    /// What a flush did, for the daemon to say.
    enum Outcome: Equatable {
        case nothingPending
        case applied(recovered: Int?)
        /// The batch was refused; `firstTime` when the previous flush had worked.
        case refused(String, firstTime: Bool)
    }

    /// Per client or range: the ban to put in the kernel, or nil to lift it.
    private(set) var pending: [BanTarget: BanBook.Ban?] = [:]
    private(set) var failing = false
    /// Batches refused since the daemon started.
    private(set) var failures = 0

    /// Entries tried one by one after a refused batch.
    static let singleTries = 64

    /// Queues a ban's or an unban's change; other decisions change nothing in the kernel.
    mutating func queue(_ decision: GuardDecision) {
        guard let target = decision.target else { return }
        switch decision.action {
        case .ban: if let ban = decision.ban { pending[target] = .some(ban) }
        case .unban: pending[target] = .some(nil)
        case .globalAnomaly, .baselineRecalc, .trackingCap, .cohort: break
        }
    }

    /// Sends every pending change to `enforcer`; a ban's length is what is left of it at `second`.
    mutating func flush(to enforcer: any Enforcer, at second: Int, ipv6Prefix: Int) -> Outcome {
        guard !pending.isEmpty else { return .nothingPending }
        let changes = pending.map { target, ban in
            (target: target, ban: ban != nil, entry: EnforcedBan(target, ban: ban, at: second, ipv6Prefix: ipv6Prefix))
        }
        do {
            try Self.apply(changes, to: enforcer)
            let recovered = failing ? pending.count : nil
            pending.removeAll()
            failing = false
            return .applied(recovered: recovered)
        } catch {
            failures += 1
            let firstTime = !failing
            failing = true
            if changes.count > 1 {
                // Lifts first: a lifted range must leave the kernel before a wider one that overlaps it goes in.
                let ordered = changes.filter { !$0.ban } + changes.filter(\.ban)
                for change in ordered.prefix(Self.singleTries) where (try? Self.apply([change], to: enforcer)) != nil { pending[change.target] = nil }
            }
            return .refused("\(error)", firstTime: firstTime)
        }
    }

    private static func apply(_ changes: [(target: BanTarget, ban: Bool, entry: EnforcedBan)], to enforcer: any Enforcer) throws {
        let lifting = changes.filter { !$0.ban }.map(\.entry), banning = changes.filter(\.ban).map(\.entry)
        if !lifting.isEmpty { try enforcer.unban(lifting) }
        if !banning.isEmpty { try enforcer.ban(banning) }
    }
}

extension EnforcedBan {
    /// A client (IPv6 grouped by `ipv6Prefix`) or a range as the firewall holds it: for `ban`, what
    /// is left of it at `second` (at least 1 s); without, a lift.
    init(_ target: BanTarget, ban: BanBook.Ban?, at second: Int, ipv6Prefix: Int) {
        self.init(address: target.address, prefix: target.prefix(ipv6Prefix: ipv6Prefix), isRange: target.isRange,
                  seconds: ban?.until.map { max(1, $0 - second) })
    }
}
