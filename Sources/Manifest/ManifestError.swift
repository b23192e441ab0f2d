/// One thing wrong in a manifest, located precisely: `swiftdeploy.yaml:7:11: services.app.port: …`.
public struct ManifestProblem: Sendable, Equatable, CustomStringConvertible {
    /// What sort of problem: `validate` reports missing fields apart from other errors.
    public enum Kind: Sendable, Equatable {
        case syntax
        case missingField
        case invalidValue
    }

    public var file: String
    public var line: Int
    public var column: Int
    /// Dotted path of the field, e.g. `services.app.port`; empty for the document itself.
    public var field: String
    public var message: String
    public var kind: Kind = .invalidValue

    public var description: String {
        field.isEmpty ? "\(file):\(line):\(column): \(message)" : "\(file):\(line):\(column): \(field): \(message)"
    }
}

/// Everything wrong with a manifest, reported at once so it can be fixed in one pass.
public struct ManifestError: Error, Sendable, Equatable, CustomStringConvertible {
    public var problems: [ManifestProblem]

    public var description: String { problems.map(\.description).joined(separator: "\n") }
}
