import Detection
import GuardStorage
import Telemetry
import Vocabulary

/// The daemon's write-ahead buffer: what its decisions changed is saved before the firewall or
/// anyone hears of it; a save that fails keeps everything it held and goes again with the next
/// checkpoint, a second later. With `guard.shared`, this edge's own bans and manual unbans are queued
/// for the site in the same transaction.
struct Checkpointer {
    /// What a save did, for the daemon to say.
    enum Outcome: Equatable {
        /// Saved; `recovered` when the save before had failed.
        case saved(recovered: Bool)
        /// Not saved (kept for the next checkpoint); `firstTime` when this problem is new.
        case failed(String, firstTime: Bool)
    }

    let store: GuardStore
    private(set) var unsaved = GuardStore.Checkpoint()
    /// Learned seconds up to here are saved for good; later ones are saved again (late lines can still add to them).
    private var savedThrough: Int?
    /// Why the last save failed; nil while saving works.
    private(set) var problem: String?

    /// Closed seconds saved again at the next checkpoint, because late lines can still add to them.
    static let lateSeconds = 2

    init(store: GuardStore, learnedThrough newest: Int?) {
        self.store = store
        savedThrough = newest.map { $0 - 1 - Self.lateSeconds }
    }

    /// Bans taken from the site without a decision each (catching up as an edge joins).
    mutating func adopt(_ adopted: [(ban: BanBook.Ban, offence: BanBook.Offence?)]) {
        for (ban, offence) in adopted {
            unsaved.ban(ban)
            if let offence { unsaved.offence(offence) }
        }
    }

    /// Takes what `decisions` changed; `sharing` queues this edge's own bans and manual unbans for the
    /// site. A recalc keeps the baseline `summary` it produced.
    mutating func take(_ decisions: [GuardDecision], sharing: Bool, summary: Baseline.Summary?) {
        for decision in decisions {
            switch decision.action {
            case .ban:
                guard let ban = decision.ban else { continue }
                unsaved.ban(ban)
                if let offence = decision.offenceRecord { unsaved.offence(offence) }
                if sharing, decision.edge == nil { unsaved.outgoing.append(.init(action: .ban, ban: ban, condition: decision.condition)) }
            case .unban:
                guard let target = decision.target else { continue }
                unsaved.lift(target)
                if sharing, decision.edge == nil, decision.condition == "manual" {
                    let lifted = BanBook.Ban(target: target, since: decision.at, until: nil, offence: decision.offence, reason: "manual")
                    unsaved.outgoing.append(.init(action: .unban, ban: lifted, condition: decision.condition))
                }
            case .baselineRecalc:
                if let summary { unsaved.recalcs.append(.init(at: decision.at, summary: summary)) }
            case .globalAnomaly, .trackingCap, .cohort:
                break
            }
        }
    }

    /// Saves everything not yet saved in one transaction, with the seconds learned since the last
    /// save (`learned` is asked from the last second saved for good), the log's position and its counts.
    mutating func save(learned: (Int?) -> GuardEngine.Learned, position: LogTail.Position?, lines: Int, badLines: Int) -> Outcome {
        let learned = learned(savedThrough)
        unsaved.learn(learned)
        unsaved.position = position ?? unsaved.position
        (unsaved.lines, unsaved.badLines) = (lines, badLines)
        do {
            try store.save(unsaved)
            unsaved = GuardStore.Checkpoint()
            if learned.baseline.first != nil { savedThrough = learned.baseline.newest - 1 - Self.lateSeconds }
            defer { problem = nil }
            return .saved(recovered: problem != nil)
        } catch {
            defer { problem = error.description }
            return .failed(error.description, firstTime: problem != error.description)
        }
    }
}
