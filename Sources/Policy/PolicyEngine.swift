import Foundation
import Manifest
import Vocabulary

/// Something that answers policy questions. Implementations never throw: when they cannot answer,
/// the decision is a deny whose `unanswered` says why (fail closed).
public protocol PolicyEngine: Sendable {
    var name: String { get }
    func decide(_ policy: PolicyName, input: JSONValue) async -> Decision
}

/// What every engine needs from the manifest: the limits (as Rego data) and the policy files.
public struct PolicySetup: Sendable {
    public let limits: JSONValue
    public let directory: String
    public let settings: PolicySettings

    public init(manifest: Manifest) {
        settings = manifest.policy
        directory = manifest.policy.directory
        let infrastructure = manifest.policy.infrastructure
        let canary = manifest.policy.canarySafety
        limits = [
            "infrastructure": [
                "max_cpu_load": .number(infrastructure.maxCPULoad),
                "min_disk_free_gb": .number(infrastructure.minDiskFreeGB),
                "max_mem_used_pct": .number(infrastructure.maxMemUsedPct),
            ],
            "canary_safety": [
                "max_error_rate": .number(canary.maxErrorRate),
                "max_p99_latency_ms": .number(canary.maxP99LatencyMS),
                "min_requests": .number(Double(canary.minRequests)),
                "window_s": .number(canary.window.seconds),
            ],
        ]
    }

    /// The data document policies see: `data.swiftdeploy.limits.<policy>`.
    public var data: JSONValue { ["swiftdeploy": ["limits": limits]] }

    /// The engine the manifest asks for.
    public func engine() -> any PolicyEngine {
        switch settings.engine {
        case .embedded: EmbeddedRegoEngine(modules: PolicyFiles.load(directory: directory, tests: false), data: data)
        case .opa: OPAEngine(baseURL: settings.opaURL, timeout: settings.timeout, data: data)
        }
    }
}

/// The `.rego` files a decision is made from: every file in the policy directory, or the shipped
/// defaults when that directory does not exist.
public enum PolicyFiles {
    public struct Module: Sendable, Equatable {
        public let name: String
        public let text: String
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
