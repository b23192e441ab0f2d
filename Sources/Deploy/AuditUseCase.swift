import Foundation
import Policy
import Runtime
import Vocabulary

/// `swiftdeploy audit`: history.jsonl as a GitHub-Markdown report: a timeline of every event and a
/// table of every policy violation (including forced overrides).
public struct AuditUseCase: Sendable {
    public let history: History

    public init(history: History) { self.history = history }

    public func report(title: String) -> String {
        let (events, unreadable) = history.events()
        var out = "# Audit report: \(title)\n\n"
        out += "\(events.count) events from `\(history.path)`"
        out += unreadable > 0 ? " (\(unreadable) unreadable lines skipped)" : ""
        out += ".\n\n## Timeline\n\n| time | event | by | details |\n|---|---|---|---|\n"
        for event in events where event.event != .statusScrape {
            let user = event.details["user"].map(Self.text) ?? "-"
            out += "| \(cell(event.timestamp.formatted(.iso8601))) | \(cell(event.event.rawValue)) | \(cell(user)) | \(cell(Self.details(event))) |\n"
        }
        let scrapes = events.filter { $0.event == .statusScrape }.count
        if scrapes > 0 { out += "\n\(scrapes) `status` refreshes are recorded in the history and left out of the timeline.\n" }
        out += "\n## Policy violations\n\n"
        let violations = events.compactMap { event in event.decision.flatMap { $0.allow ? nil : (event, $0) } }
        if violations.isEmpty {
            out += "None.\n"
        } else {
            out += "| time | policy | rule | observed | limit | message | outcome |\n|---|---|---|---|---|---|---|\n"
            for (event, decision) in violations {
                let outcome = event.forced == true ? "**forced past**" : "blocked"
                for violation in decision.violations {
                    let fields = [violation.rule, violation.observed, violation.limit, violation.message].map(cell)
                    out += "| \(cell(event.timestamp.formatted(.iso8601))) | \(cell(decision.policy.rawValue)) | \(fields.joined(separator: " | ")) | \(outcome) |\n"
                }
            }
        }
        return out
    }

    /// Writes the report to `path`.
    public func write(title: String, to path: String) throws {
        try FileWriter.write(report(title: title), to: path, privately: true)
    }

    static func details(_ event: HistoryEvent) -> String {
        if let decision = event.decision {
            let reasons = decision.violations.map(\.message)
            return "\(decision.allow ? "PASS" : "BLOCK") \(decision.policy.rawValue)" + (reasons.isEmpty ? "" : ": " + reasons.joined(separator: "; "))
                + (event.forced == true ? " (forced)" : "")
        }
        return event.details.keys.sorted().filter { $0 != "user" }.map { "\($0)=\(text(event.details[$0]!))" }.joined(separator: ", ")
    }

    static func text(_ value: JSONValue) -> String {
        if case .string(let string) = value { return string }
        return value.description
    }

    /// Table cells are log-controlled text: pipes and newlines would break the table.
    private func cell(_ text: String) -> String {
        text.replacingOccurrences(of: "|", with: "\\|").replacingOccurrences(of: "\n", with: " ")
    }
}
