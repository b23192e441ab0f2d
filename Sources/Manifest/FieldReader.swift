import Foundation
import Yams
import Vocabulary

/// Reads typed fields out of a YAML node tree, collecting every problem with its location
/// instead of stopping at the first, and substituting `${VAR}` / `${VAR:-default}` from the environment.
final class FieldReader {
    let file: String
    let environment: [String: String]
    private(set) var problems: [ManifestProblem] = []

    init(file: String, environment: [String: String]) {
        self.file = file
        self.environment = environment
    }

    func fail(_ mark: Mark?, _ field: String, _ message: String, kind: ManifestProblem.Kind = .invalidValue) {
        problems.append(ManifestProblem(file: file, line: mark?.line ?? 1, column: mark?.column ?? 1, field: field, message: message, kind: kind))
    }

    /// A mapping's entries, checked against the keys it may have. A missing or null node is an empty section.
    func section(_ node: Node?, path: String, keys: [String]) -> Section {
        guard let node, !Self.isNull(node) else { return Section(reader: self, path: path, mark: node?.mark, entries: [:], order: []) }
        guard let mapping = node.mapping else {
            fail(node.mark, path, "expected a mapping of \(keys.joined(separator: ", ")), got \(Self.describe(node))")
            return Section(reader: self, path: path, mark: node.mark, entries: [:], order: [])
        }
        var entries: [String: Node] = [:]
        var order: [String] = []
        for (keyNode, value) in mapping {
            guard let key = keyNode.scalar?.string else {
                fail(keyNode.mark, path, "keys must be plain strings")
                continue
            }
            let field = Section.join(path, key)
            if !keys.isEmpty && !keys.contains(key) {
                let hint = Self.suggestion(for: key, among: keys).map { "did you mean `\($0)`?" }
                    ?? "expected one of: \(keys.joined(separator: ", "))"
                fail(keyNode.mark, field, "unknown key; \(hint)")
                continue
            }
            entries[key] = value
            order.append(key)
        }
        return Section(reader: self, path: path, mark: node.mark, entries: entries, order: order)
    }

    /// The scalar's text after environment substitution; nil (with a problem recorded) when it is not a scalar.
    func text(_ node: Node, _ field: String, expected: String) -> String? {
        guard let scalar = node.scalar else {
            fail(node.mark, field, "expected \(expected), got \(Self.describe(node))")
            return nil
        }
        return interpolate(scalar.string, node.mark, field)
    }

    func interpolate(_ text: String, _ mark: Mark?, _ field: String) -> String? {
        guard text.contains("$") else { return text }
        var output = ""
        var rest = Substring(text)
        while let dollar = rest.firstIndex(of: "$") {
            output += rest[..<dollar]
            let after = rest[rest.index(after: dollar)...]
            if after.hasPrefix("$") {  // `$$` is a literal dollar
                output += "$"
                rest = after.dropFirst()
                continue
            }
            guard after.hasPrefix("{") else {
                output += "$"
                rest = after
                continue
            }
            guard let close = after.firstIndex(of: "}") else {
                fail(mark, field, "unterminated ${ in \"\(text)\" (write $$ for a literal dollar)")
                return nil
            }
            let expression = after[after.index(after: after.startIndex)..<close]
            let name: Substring
            let fallback: Substring?
            if let separator = expression.range(of: ":-") {
                name = expression[..<separator.lowerBound]
                fallback = expression[separator.upperBound...]
            } else {
                name = expression
                fallback = nil
            }
            guard !name.isEmpty, name.allSatisfy({ $0 == "_" || $0.isLetter || $0.isNumber }) else {
                fail(mark, field, "bad variable reference ${\(expression)}; expected ${NAME} or ${NAME:-default}")
                return nil
            }
            if let value = environment[String(name)], !(value.isEmpty && fallback != nil) {
                output += value
            } else if let fallback {
                output += fallback
            } else {
                fail(mark, field, "environment variable \(name) is not set; export it, or write ${\(name):-default} to give a fallback")
                return nil
            }
            rest = after[after.index(after: close)...]
        }
        return output + rest
    }

    /// A value as an error message may show it: a value that came from the environment is likely a
    /// secret (a webhook, a token), so the message shows what the file says, not what it became.
    static func shown(_ node: Node, _ text: String) -> String {
        guard let raw = node.scalar?.string, raw.contains("${") else { return "\"\(text)\"" }
        return "\"\(raw)\" (from the environment; its value is not shown)"
    }

    static func isNull(_ node: Node) -> Bool {
        guard let scalar = node.scalar else { return false }
        return scalar.style == .plain && ["", "~", "null", "Null", "NULL"].contains(scalar.string)
    }

    static func describe(_ node: Node) -> String {
        switch node {
        case .scalar(let scalar): "\"\(scalar.string)\""
        case .mapping: "a mapping"
        case .sequence: "a list"
        case .alias: "an alias"
        }
    }

    /// The closest allowed key by edit distance, when it is close enough to be a typo.
    static func suggestion(for key: String, among keys: [String]) -> String? {
        let scored = keys.map { ($0, editDistance(key.lowercased(), $0)) }.min { $0.1 < $1.1 }
        guard let (best, distance) = scored, distance <= max(2, best.count / 3) else { return nil }
        return best
    }

    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        var previous = Array(0...b.count)
        for i in 1...max(a.count, 1) where !a.isEmpty {
            var current = [i] + [Int](repeating: 0, count: b.count)
            for j in 1...max(b.count, 1) where !b.isEmpty {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return a.isEmpty ? b.count : previous[b.count]
    }
}

/// A mapping inside the manifest, with typed accessors that fall back to a default and record a
/// located problem when a value is present but wrong.
struct Section {
    let reader: FieldReader
    let path: String
    let mark: Mark?
    let entries: [String: Node]
    /// Keys in the order written, for maps whose order matters.
    let order: [String]

    static func join(_ path: String, _ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    func field(_ key: String) -> String { Self.join(path, key) }

    /// The value node, or nil when absent or null.
    func node(_ key: String) -> Node? {
        guard let node = entries[key], !FieldReader.isNull(node) else { return nil }
        return node
    }

    func has(_ key: String) -> Bool { node(key) != nil }

    func section(_ key: String, keys: [String]) -> Section {
        reader.section(entries[key], path: field(key), keys: keys)
    }

    /// A field that must be present: records "required field is missing" only when it is absent
    /// (a present but wrong value already has its own problem).
    func required<T>(_ key: String, _ what: String, fallback: T, _ read: () -> T?) -> T {
        if let value = read() { return value }
        if !has(key) { missing(key, what) }
        return fallback
    }

    func missing(_ key: String, _ what: String) {
        reader.fail(entries[key]?.mark ?? mark, field(key), "required field is missing (\(what))", kind: .missingField)
    }

    /// Converts a present scalar with `convert`; on nil records "expected …, got …" and returns nil.
    func value<T>(_ key: String, expected: String, _ convert: (String) -> T?) -> T? {
        guard let node = node(key), let text = reader.text(node, field(key), expected: expected) else { return nil }
        if let value = convert(text) { return value }
        reader.fail(node.mark, field(key), "expected \(expected), got \(FieldReader.shown(node, text))")
        return nil
    }

    func string(_ key: String) -> String? {
        value(key, expected: "a string") { $0 }
    }

    /// A scalar as written, `${NAME}` not substituted: what may be shown and recorded of a value
    /// that can hold a secret.
    func written(_ key: String) -> String? { node(key)?.scalar?.string }

    func string(_ key: String, default fallback: String) -> String {
        string(key) ?? fallback
    }

    func int(_ key: String, in range: ClosedRange<Int>, default fallback: Int) -> Int {
        int(key, in: range) ?? fallback
    }

    func int(_ key: String, in range: ClosedRange<Int>) -> Int? {
        value(key, expected: "an integer \(range.lowerBound)-\(range.upperBound)") { Int($0).flatMap { range.contains($0) ? $0 : nil } }
    }

    func double(_ key: String, in range: ClosedRange<Double>, default fallback: Double) -> Double {
        value(key, expected: "a number from \(Self.number(range.lowerBound)) to \(Self.number(range.upperBound))") {
            Double($0).flatMap { $0.isFinite && range.contains($0) ? $0 : nil }
        } ?? fallback
    }

    /// A percentage: `90`, `90%` (0-100).
    func percent(_ key: String, default fallback: Double) -> Double {
        value(key, expected: "a percentage 0-100 such as 90 or 90%") { text in
            Double(text.hasSuffix("%") ? String(text.dropLast()) : text).flatMap { (0...100).contains($0) ? $0 : nil }
        } ?? fallback
    }

    /// A fraction written as `0.05` or `5%`, returned as 0...1.
    func fraction(_ key: String, default fallback: Double) -> Double {
        value(key, expected: "a fraction 0.0-1.0 or a percentage such as 5%") { text in
            if text.hasSuffix("%") { return Double(text.dropLast()).flatMap { (0...100).contains($0) ? $0 / 100 : nil } }
            return Double(text).flatMap { (0...1).contains($0) ? $0 : nil }
        } ?? fallback
    }

    func bool(_ key: String, default fallback: Bool) -> Bool {
        value(key, expected: "true or false") { ["true": true, "false": false, "yes": true, "no": false][$0.lowercased()] } ?? fallback
    }

    func duration(_ key: String, default fallback: Duration) -> Duration {
        value(key, expected: "a duration such as 500ms, 30s, 10m or 2h", DurationText.parse) ?? fallback
    }

    func choice<E: RawRepresentable & CaseIterable>(_ key: String, default fallback: E) -> E where E.RawValue == String {
        let names = E.allCases.map(\.rawValue)
        return value(key, expected: "one of \(names.joined(separator: ", "))") { E(rawValue: $0) } ?? fallback
    }

    /// A list of scalars, each converted; a lone scalar is not accepted as a list.
    func list<T>(_ key: String, expected: String, _ convert: (String) -> T?) -> [T]? {
        guard let node = node(key) else { return nil }
        guard let sequence = node.sequence else {
            reader.fail(node.mark, field(key), "expected a list of \(expected), got \(FieldReader.describe(node))")
            return nil
        }
        var values: [T] = []
        for (index, item) in sequence.enumerated() {
            let itemField = "\(field(key))[\(index)]"
            guard let text = reader.text(item, itemField, expected: expected) else { continue }
            if let value = convert(text) { values.append(value) } else { reader.fail(item.mark, itemField, "expected \(expected), got \(FieldReader.shown(item, text))") }
        }
        return values
    }

    func cidrs(_ key: String, default fallback: [CIDR]) -> [CIDR] {
        list(key, expected: "CIDR blocks such as 10.0.0.0/8 or 2001:db8::/32") { CIDR($0) } ?? fallback
    }

    func stringMap(_ key: String) -> [String: String] {
        let inner = section(key, keys: [])
        var map: [String: String] = [:]
        for name in inner.order { map[name] = inner.string(name) ?? "" }
        return map
    }

    private static func number(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : String(value)
    }
}
