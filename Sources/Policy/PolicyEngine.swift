import EdgeRules
import Foundation
import Manifest
import Telemetry
import Vocabulary

/// Something that answers policy questions. Implementations never throw: when they cannot answer,
/// the decision is a deny whose `unanswered` says why (fail closed).
public protocol PolicyEngine: Sendable {
    var name: String { get }
    func decide(_ policy: PolicyName, input: JSONValue) async -> Decision
}

/// The manifest's limits, sent with every question: a policy is asked with its measurements and,
/// under `"limits"`, the limits that hold them (never shared data on the engine: two projects on one
/// OPA cannot race, and the app being judged cannot rewrite them between two decisions).
public struct PolicyLimits: Sendable, Equatable {
    /// Keyed by policy: `{"infrastructure": {...}, "canary_safety": {...}}`.
    public let byPolicy: JSONValue

    public init(_ byPolicy: JSONValue) { self.byPolicy = byPolicy }

    /// No limits at all (every policy then denies: no limit, no deploy).
    public static let none = PolicyLimits([:])

    public init(manifest: Manifest) {
        let infrastructure = manifest.policy.infrastructure
        let canary = manifest.policy.canarySafety
        self.init([
            PolicyName.infrastructure.rawValue: [
                "max_cpu_load": .number(infrastructure.maxCPULoad),
                "min_disk_free_gb": .number(infrastructure.minDiskFreeGB),
                "max_mem_used_pct": .number(infrastructure.maxMemUsedPct),
            ],
            PolicyName.canarySafety.rawValue: [
                "max_error_rate": .number(canary.maxErrorRate),
                "max_p99_latency_ms": .number(canary.maxP99LatencyMS),
                "min_requests": .number(Double(canary.minRequests)),
                "window_s": .number(canary.window.seconds),
                "metrics": .object(Dictionary(uniqueKeysWithValues: canary.metrics.map { ($0.name, Self.bounds($0)) })),
            ],
        ])
    }

    /// A user metric's `min` and `max`, those it has.
    static func bounds(_ metric: CanaryMetric) -> JSONValue {
        var bounds: [String: JSONValue] = [:]
        if let min = metric.min { bounds["min"] = .number(min) }
        if let max = metric.max { bounds["max"] = .number(max) }
        return .object(bounds)
    }

    /// What `policy` is asked with: the measurements with the policy's limits beside them. Anything
    /// but an object of measurements is sent as it is (the shipped policies deny it by name).
    public func input(_ policy: PolicyName, _ measurements: JSONValue) -> JSONValue {
        guard case .object(var fields) = measurements else { return measurements }
        fields["limits"] = byPolicy[policy.rawValue] ?? .null
        return .object(fields)
    }
}

/// What every engine needs from the manifest: the limits and the policy files.
public struct PolicySetup: Sendable {
    public let limits: PolicyLimits
    public let directory: String
    public let settings: PolicySettings

    public init(manifest: Manifest) {
        settings = manifest.policy
        directory = manifest.policy.directory
        limits = PolicyLimits(manifest: manifest)
    }

    /// The policy files decisions are made from (tests left out).
    public var modules: [PolicyFiles.Module] { PolicyFiles.load(directory: directory, tests: false) }

    /// The engine the manifest asks for.
    public func engine() -> any PolicyEngine {
        switch settings.engine {
        case .embedded: embeddedEngine()
        case .opa: opaEngine()
        }
    }

    /// rego-cpp in process, given these policies.
    public func embeddedEngine() -> EmbeddedRegoEngine { EmbeddedRegoEngine(modules: modules, limits: limits) }

    /// The OPA server of the manifest (`policy.opa_url`, `policy.opa_token`), given these policies.
    public func opaEngine(url: String? = nil) -> OPAEngine {
        OPAEngine(baseURL: url ?? settings.opaURL, token: settings.opaToken, timeout: settings.timeout, modules: modules, limits: limits)
    }
}

/// The `.rego` files a decision is made from: every file in the policy directory, or the shipped
/// defaults when that directory does not exist.
public enum PolicyFiles {
    public struct Module: Sendable, Equatable {
        public let name: String
        public let text: String

        public init(name: String, text: String) { (self.name, self.text) = (name, text) }
    }

    /// - Parameter tests: include `*_test.rego` files (the test runner needs them; decisions do not).
    public static func load(directory: String, tests: Bool = true) -> [Module] {
        func wanted(_ name: String) -> Bool { name.hasSuffix(".rego") && (tests || !name.hasSuffix("_test.rego")) }
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else {
            return DefaultPolicies.files.filter { wanted($0.name) }.map { Module(name: $0.name, text: $0.text) }
        }
        return names.filter(wanted).sorted().compactMap { name in
            let path = (directory as NSString).appendingPathComponent(name)
            return (try? String(contentsOfFile: path, encoding: .utf8)).map { Module(name: path, text: $0) }
        }
    }

    /// The Rego package a module declares.
    public static func package(of text: String) -> String? {
        for line in text.split(separator: "\n") where line.hasPrefix("package ") {
            return line.dropFirst("package ".count).trimmingCharacters(in: .whitespaces)
        }
        return nil
    }

    /// A digest of the modules' names and texts: which policies decided (recorded with each decision).
    public static func revision(_ modules: [Module]) -> String {
        String(ContentHash.sha256(modules.map { "\(($0.name as NSString).lastPathComponent)\n\($0.text)" }.joined(separator: "\u{0}")).prefix(16))
    }

    /// Writes the shipped policies into `directory`, never over an existing file. Returns the paths written.
    public static func install(into directory: String) throws -> [String] {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var written: [String] = []
        for file in DefaultPolicies.files {
            let path = (directory as NSString).appendingPathComponent(file.name)
            guard !FileManager.default.fileExists(atPath: path) else { continue }
            try Data(file.text.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
            written.append(path)
        }
        return written
    }
}
