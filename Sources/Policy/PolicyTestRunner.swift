import Foundation
import Vocabulary

/// `swiftdeploy policy test`: every `test_*` rule of every loaded module is evaluated, as `opa test`
/// does, on the embedded engine, on an OPA server, or on both (their verdicts compared); true
/// passes, anything else (false, undefined, an error) fails.
public enum PolicyTestRunner {
    public struct Result: Sendable, Equatable {
        public let file: String
        public let rule: String
        public let engine: String
        public let passed: Bool
        public let detail: String
    }

    /// Asks one engine for a document: `data.<package>.<rule>` → its value, nil when undefined.
    public typealias Evaluate = @Sendable (_ package: String, _ rule: String) async -> Swift.Result<JSONValue?, EngineFailure>

    /// On rego-cpp in process.
    public static func embedded(_ modules: [PolicyFiles.Module], library: Swift.Result<RegoLibrary, EngineFailure> = RegoLibrary.shared) -> Evaluate {
        let engine = EmbeddedRegoEngine(modules: modules, library: library)
        return { package, rule in engine.evaluate("data.\(package).\(rule)", input: nil) }
    }

    /// On an OPA server, after uploading the modules (tests included).
    public static func opa(_ engine: OPAEngine, _ modules: [PolicyFiles.Module]) async -> Evaluate {
        let uploaded: EngineFailure?
        do { try await engine.upload(modules); uploaded = nil } catch { uploaded = error as? EngineFailure ?? EngineFailure("\(error)") }
        return { package, rule in
            if let uploaded { return .failure(uploaded) }
            do { return .success(try await engine.evaluate(package.replacingOccurrences(of: ".", with: "/") + "/" + rule, input: nil)) } catch {
                return .failure(error as? EngineFailure ?? EngineFailure("\(error)"))
            }
        }
    }

    public static func run(modules: [PolicyFiles.Module], engine: String, _ evaluate: Evaluate) async -> [Result] {
        var results: [Result] = []
        for module in modules {
            guard let package = PolicyFiles.package(of: module.text) else { continue }
            for rule in testRules(module.text) {
                switch await evaluate(package, rule) {
                case .success(.bool(true)?): results.append(Result(file: module.name, rule: rule, engine: engine, passed: true, detail: ""))
                case .success(let value):
                    results.append(Result(file: module.name, rule: rule, engine: engine, passed: false, detail: value.map { "got \($0)" } ?? "undefined"))
                case .failure(let failure): results.append(Result(file: module.name, rule: rule, engine: engine, passed: false, detail: failure.description))
                }
            }
        }
        return results
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
