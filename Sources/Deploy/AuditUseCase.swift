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
        out += ".\n\n## Timeline\n\n| time | event | details |\n|---|---|---|\n"
        for event in events where event["event"]?.string != "status_scrape" {
            out += "| \(cell(event["timestamp"]?.string ?? "")) | \(cell(event["event"]?.string ?? "")) | \(cell(Self.details(event))) |\n"
        }
        let scrapes = events.filter { $0["event"]?.string == "status_scrape" }.count
        if scrapes > 0 { out += "\n\(scrapes) `status` refreshes are recorded in the history and left out of the timeline.\n" }
        out += "\n## Policy violations\n\n"
        let violations = events.filter { $0["event"]?.string == "policy" && $0["decision"]?["allow"]?.bool == false }
        if violations.isEmpty {
            out += "None.\n"
        } else {
            out += "| time | policy | rule | observed | limit | message | outcome |\n|---|---|---|---|---|---|---|\n"
            for event in violations {
                let outcome = event["forced"]?.bool == true ? "**forced past**" : "blocked"
                for violation in event["decision"]?["violations"]?.array ?? [] {
                    let fields = ["rule", "observed", "limit", "message"].map { cell(violation[$0]?.string ?? "") }
                    out += "| \(cell(event["timestamp"]?.string ?? "")) | \(cell(event["policy"]?.string ?? "")) | \(fields.joined(separator: " | ")) | \(outcome) |\n"
                }
            }
        }
        return out
    }

    /// Writes the report to `path`.
    public func write(title: String, to path: String) throws {
        try FileWriter.write(report(title: title), to: path)
    }

    static func details(_ event: JSONValue) -> String {
        guard case .object(let fields) = event else { return "" }
        switch event["event"]?.string {
        case "policy":
            let decision = event["decision"]
            let verdict = decision?["allow"]?.bool == true ? "PASS" : "BLOCK"
            let reasons = decision?["violations"]?.array?.compactMap { $0["message"]?.string } ?? []
            return "\(verdict) \(event["policy"]?.string ?? "")" + (reasons.isEmpty ? "" : ": " + reasons.joined(separator: "; "))
                + (event["forced"]?.bool == true ? " (forced)" : "")
        default:
            return fields.keys.sorted().filter { !["event", "timestamp"].contains($0) }.map { "\($0)=\(text(fields[$0]!))" }.joined(separator: ", ")
        }
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
