import Foundation

/// The Grafana dashboard the project ships (`docs/grafana/swiftdeploy.json`), read as Grafana
/// would: its panels and their PromQL queries, for tests that check every series it asks for
/// exists in the exposition that serves it.
public struct GrafanaDashboard: Decodable, Sendable {
    public struct Panel: Decodable, Sendable {
        public var id: Int
        public var title: String
        public var type: String
        public var targets: [Target]
    }

    public struct Target: Decodable, Sendable {
        public var expr: String
        public var legendFormat: String?
    }

    public var uid: String
    public var title: String
    public var panels: [Panel]

    public static let path = "\(OPAServer.repositoryRoot)/docs/grafana/swiftdeploy.json"

    public static func load() throws -> GrafanaDashboard {
        try JSONDecoder().decode(GrafanaDashboard.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
    }

    /// Every query with the panel it belongs to.
    public var queries: [(panel: String, target: Target)] { panels.flatMap { panel in panel.targets.map { (panel.title, $0) } } }

    /// The series names a query reads (`rate(x_total[1m])` reads x_total), those starting with one
    /// of `prefixes`; label names and functions are not series.
    public static func series(in expr: String, prefixes: [String]) -> [String] {
        let withoutLabels = expr.replacingOccurrences(of: #"\{[^}]*\}"#, with: "", options: .regularExpression)
            .replacingOccurrences(of: #"by \([^)]*\)"#, with: "", options: .regularExpression)
        let words = withoutLabels.split { !($0.isLetter || $0.isNumber || $0 == "_" || $0 == ":") }.map(String.init)
        return words.filter { word in prefixes.contains { word.hasPrefix($0) } }
    }

    /// The labels a legend names (`{{track}} {{version}}` names track and version).
    public static func labels(in legend: String?) -> [String] {
        guard let legend else { return [] }
        return legend.components(separatedBy: "{{").dropFirst().compactMap { $0.components(separatedBy: "}}").first }
    }
}
