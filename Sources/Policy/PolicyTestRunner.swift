import Foundation
import Vocabulary

/// `swiftdeploy policy test`: every `test_*` rule of every loaded module is evaluated, as `opa test`
/// does; true passes, anything else (false, undefined, an error) fails.
public enum PolicyTestRunner {
    public struct Result: Sendable, Equatable {
        public let file: String
        public let rule: String
        public let passed: Bool
        public let detail: String
    }

    public static func run(modules: [PolicyFiles.Module], data: JSONValue, library: Swift.Result<RegoLibrary, EngineFailure> = RegoLibrary.shared) -> [Result] {
        let engine = EmbeddedRegoEngine(modules: modules, data: data, library: library)
        var results: [Result] = []
        for module in modules {
            guard let package = packageName(module.text) else { continue }
            for rule in testRules(module.text) {
                let query = "data.\(package).\(rule)"
                switch engine.evaluate(query, input: nil) {
                case .success(.bool(true)?): results.append(Result(file: module.name, rule: rule, passed: true, detail: ""))
                case .success(let value): results.append(Result(file: module.name, rule: rule, passed: false, detail: value.map { "got \($0)" } ?? "undefined"))
                case .failure(let failure): results.append(Result(file: module.name, rule: rule, passed: false, detail: failure.description))
                }
            }
        }
        return results
    }

    static func packageName(_ text: String) -> String? {
        for line in text.split(separator: "\n") where line.hasPrefix("package ") {
            return line.dropFirst("package ".count).trimmingCharacters(in: .whitespaces)
        }
        return nil
    }

    /// Rule names starting with `test_` at the start of a line, each once.
    static func testRules(_ text: String) -> [String] {
        var seen = Set<String>()
        return text.split(separator: "\n").compactMap { line -> String? in
            guard line.hasPrefix("test_") else { return nil }
            let name = String(line.prefix { $0.isLetter || $0.isNumber || $0 == "_" })
            return seen.insert(name).inserted ? name : nil
        }
    }
}
