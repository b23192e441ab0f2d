import CRego
import Foundation
import Manifest
import Vocabulary

#if canImport(Glibc)
import Glibc
#endif

/// rego-cpp's library, loaded once per process from the `regopy` wheel that `scripts/setup.sh`
/// unpacks under `.deps/`. A missing or broken library is a message, never a crash.
public final class RegoLibrary: Sendable {
    nonisolated(unsafe) let api: crego_api
    public let path: String

    private init(api: crego_api, path: String) {
        self.api = api
        self.path = path
    }

    public static let setupHint = "run scripts/setup.sh (it unpacks the regopy wheel under .deps/), or set SWIFTDEPLOY_REGO_LIBRARY to librego_shared.so"

    /// Where the library is looked for, in order: the installed paths, and `.deps/` beside the
    /// binary (a build in the project: the binary's folder and up to five parents). Never the
    /// working directory: a library planted in a shared folder above it must not be loaded.
    public static func candidates(environment: [String: String] = ProcessInfo.processInfo.environment,
                                  executable: String = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
                                      ?? CommandLine.arguments[0]) -> [String] {
        var paths: [String] = []
        if let explicit = environment["SWIFTDEPLOY_REGO_LIBRARY"], !explicit.isEmpty { paths.append(explicit) }
        paths += ["/usr/lib/swiftdeploy/regopy/librego_shared.so", "/usr/local/lib/swiftdeploy/regopy/librego_shared.so"]
        var directory = (executable as NSString).deletingLastPathComponent
        for _ in 0..<6 where !directory.isEmpty {
            paths.append((directory as NSString).appendingPathComponent(".deps/regopy/librego_shared.so"))
            let parent = (directory as NSString).deletingLastPathComponent
            if parent == directory { break }
            directory = parent
        }
        var seen = Set<String>()
        return paths.filter { seen.insert($0).inserted }
    }

    /// Whether code at `path` may be loaded into this process: the file and its folder belong to
    /// root or to us, and nobody else may write them.
    public static func isTrusted(_ path: String) -> Bool {
        [path, (path as NSString).deletingLastPathComponent].allSatisfy { item in
            var info = stat()
            guard stat(item, &info) == 0 else { return false }
            return (info.st_uid == 0 || info.st_uid == geteuid()) && info.st_mode & (S_IWGRP | S_IWOTH) == 0
        }
    }

    /// The process-wide library, found through `candidates()`.
    public static let shared: Result<RegoLibrary, EngineFailure> = {
        if let explicit = ProcessInfo.processInfo.environment["SWIFTDEPLOY_REGO_LIBRARY"], !explicit.isEmpty {
            return load(path: explicit)  // an explicit choice is never silently replaced by another library
        }
        let present = candidates().filter { FileManager.default.fileExists(atPath: $0) }
        guard let path = present.first(where: isTrusted) else {
            let refused = present.isEmpty ? "" : " (refused, writable by others or not ours: \(present.joined(separator: ", ")))"
            return .failure(EngineFailure("rego-cpp library not found\(refused); looked in: \(candidates().joined(separator: ", ")); \(setupHint)"))
        }
        return load(path: path)
    }()

    /// Loads the library at one path.
    public static func load(path: String) -> Result<RegoLibrary, EngineFailure> {
        var api = crego_api()
        var error = [CChar](repeating: 0, count: 1024)
        guard crego_open(path, &api, &error, error.count) == 0 else {
            let reason = String(decoding: error.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            return .failure(EngineFailure("cannot load rego-cpp from \(path): \(reason); \(setupHint)"))
        }
        return .success(RegoLibrary(api: api, path: path))
    }
}

/// Why an engine could not answer.
public struct EngineFailure: Error, Sendable, Equatable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// The default engine: rego-cpp in process. One interpreter holds the modules, compiled
/// once into a bundle with the two decisions as entry points; every decision only sets the input
/// and runs an entry point (a fraction of a millisecond, against several ms for a fresh query).
/// Access is under a lock: rego-cpp is not thread-safe.
public final class EmbeddedRegoEngine: PolicyEngine, @unchecked Sendable {
    public let name = "embedded"
    private let lock = NSLock()
    private let library: Result<RegoLibrary, EngineFailure>
    private let modules: [PolicyFiles.Module]
    public let limits: PolicyLimits
    private var interpreter: UnsafeMutableRawPointer?
    /// The compiled decisions; nil when the modules could not be built into a bundle (queries still work).
    private var bundle: UnsafeMutableRawPointer?
    private var setupFailure: EngineFailure?

    public init(modules: [PolicyFiles.Module], limits: PolicyLimits = .none, library: Result<RegoLibrary, EngineFailure> = RegoLibrary.shared) {
        self.modules = modules
        self.limits = limits
        self.library = library
    }

    deinit {
        guard case .success(let library) = library else { return }
        if let bundle { library.api.regoFreeBundle(bundle) }
        if let interpreter { library.api.regoFree(interpreter) }
    }

    /// The policies' revision: a digest of every module's name and text, the same on both engines.
    public var revision: String { PolicyFiles.revision(modules) }

    public func decide(_ policy: PolicyName, input: JSONValue) async -> Decision {
        await answer(policy, input: input).made(by: revision)
    }

    private func answer(_ policy: PolicyName, input: JSONValue) async -> Decision {
        let started = ContinuousClock.now
        switch evaluate(policy.query, input: limits.input(policy, input)) {
        case .success(let result?):
            return Decision.parse(policy, result: result, engine: name, duration: ContinuousClock.now - started)
        case .success(nil):
            return .failClosed(policy, engine: name, duration: ContinuousClock.now - started,
                               reason: "\(policy.query) is undefined: no loaded module defines it (package \(policy.package) missing from the policy directory?)")
        case .failure(let failure):
            return .failClosed(policy, engine: name, duration: ContinuousClock.now - started, reason: failure.description)
        }
    }

    /// Evaluates a query; `.success(nil)` is *undefined*.
    public func evaluate(_ query: String, input: JSONValue?) -> Result<JSONValue?, EngineFailure> {
        lock.lock()
        defer { lock.unlock() }
        let library: RegoLibrary
        switch self.library {
        case .success(let loaded): library = loaded
        case .failure(let failure): return .failure(failure)
        }
        let api = library.api
        guard let rego = prepared(api) else { return .failure(setupFailure ?? EngineFailure("rego-cpp could not be set up")) }
        if let input {
            guard api.regoSetInputTerm(rego, input.description) == 0 else {
                return .failure(EngineFailure("rego-cpp refused the input: \(Self.error(api, rego))"))
            }
        }
        let output: UnsafeMutableRawPointer?
        if let bundle, let entrypoint = Self.entrypoint(query) {
            output = api.regoBundleQueryEntrypoint(rego, bundle, entrypoint)
        } else {
            output = api.regoQuery(rego, query)
        }
        guard let output else {
            return .failure(EngineFailure(Self.describe(Self.error(api, rego))))
        }
        defer { api.regoFreeOutput(output) }
        let size = api.regoOutputJSONSize(output)
        var buffer = [CChar](repeating: 0, count: Int(size) + 1)
        _ = api.regoOutputJSON(output, &buffer, UInt32(buffer.count))
        let text = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        guard api.regoOutputOk(output) else { return .failure(EngineFailure(Self.describe(text))) }
        if text.trimmingCharacters(in: .whitespacesAndNewlines) == "undefined" { return .success(nil) }
        guard let parsed = JSONValue(parsing: Data(text.utf8)) else {
            return .failure(EngineFailure(Self.describe(text)))
        }
        guard let expressions = parsed["expressions"]?.array, let first = expressions.first else { return .success(nil) }
        return .success(first)
    }

    /// The interpreter with the modules loaded, created on first use. rego-cpp prints its compiler's
    /// diagnostics on standard output, where `--json` answers go: meanwhile that goes to standard error.
    private func prepared(_ api: crego_api) -> UnsafeMutableRawPointer? {
        if let interpreter { return interpreter }
        fflush(nil)
        let output = dup(STDOUT_FILENO)
        dup2(STDERR_FILENO, STDOUT_FILENO)
        defer {
            fflush(nil)
            dup2(output, STDOUT_FILENO)
            close(output)
        }
        if setupFailure != nil { return nil }
        guard let rego = api.regoNew() else {
            setupFailure = EngineFailure("rego-cpp could not allocate an interpreter")
            return nil
        }
        for module in modules where api.regoAddModule(rego, module.name, module.text) != 0 {
            setupFailure = EngineFailure(Self.describe(Self.error(api, rego), module: module))
            api.regoFree(rego)
            return nil
        }
        interpreter = rego
        for policy in PolicyName.allCases {
            if let entrypoint = Self.entrypoint(policy.query) { _ = api.regoAddEntrypoint(rego, entrypoint) }
        }
        if let built = api.regoBuild(rego) {
            if api.regoBundleOk(built) { bundle = built } else { api.regoFreeBundle(built) }
        }
        return rego
    }

    /// `data.a.b.decision` → `a/b/decision`, for the decisions compiled into the bundle; nil otherwise.
    static func entrypoint(_ query: String) -> String? {
        PolicyName.allCases.first { $0.query == query }?.path
    }

    private static func error(_ api: crego_api, _ rego: UnsafeMutableRawPointer) -> String {
        let size = api.regoErrorSize(rego)
        var buffer = [CChar](repeating: 0, count: Int(size) + 1)
        _ = api.regoError(rego, &buffer, UInt32(buffer.count))
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// rego-cpp's error tree from a module it refused, `(error NN:FILE|OFFSET|LENGTH (errormsg NN:MESSAGE) …)`,
    /// as "policy error at FILE:LINE:COLUMN: MESSAGE".
    static func describe(_ report: String, module: PolicyFiles.Module) -> String {
        guard let location = report.range(of: "(error "), let messageStart = report.range(of: "(errormsg ") else {
            return describe(report)
        }
        let locationText = report[location.upperBound...].prefix { $0 != "\n" && $0 != "(" }
        let fields = locationText.split(separator: "|")
        let messageText = report[messageStart.upperBound...].prefix { $0 != ")" }
        let message = messageText.split(separator: ":", maxSplits: 1).last.map(String.init) ?? String(messageText)
        guard fields.count >= 2, let offset = Int(fields[1].trimmingCharacters(in: .whitespaces)) else {
            return "policy error in \(module.name): \(message)"
        }
        let before = module.text.utf8.prefix(offset)
        let line = before.filter { $0 == UInt8(ascii: "\n") }.count + 1
        let column = before.count - (before.lastIndex(of: UInt8(ascii: "\n")).map { before.distance(from: before.startIndex, to: $0) + 1 } ?? 0) + 1
        return "policy error at \(module.name):\(line):\(column): \(message)"
    }

    /// rego-cpp's error report, boiled down to "message at file:line:column".
    static func describe(_ report: String) -> String {
        let lines = report.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        guard let errorsAt = lines.firstIndex(of: "Errors:"), errorsAt + 1 < lines.count else {
            return "rego-cpp: \(report.prefix(500))"
        }
        let message = lines[errorsAt + 1]
        let location = lines.first { $0.hasPrefix("-- ") && $0.count > 3 }.map { String($0.dropFirst(3)) }
        return location.map { "policy error at \($0): \(message)" } ?? "policy error: \(message)"
    }
}
