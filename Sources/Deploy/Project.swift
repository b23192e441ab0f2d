import Foundation
import Manifest
import Runtime
import Vocabulary

/// A loaded manifest together with what is derived from it: its hash and its runtime.
public struct Project: Sendable {
    public let manifest: Manifest
    /// SHA-256 of the manifest text, stamped into every generated file.
    public let manifestHash: String

    public init(file: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws(ManifestError) {
        manifest = try ManifestLoader.load(file: file, environment: environment)
        let bytes = FileManager.default.contents(atPath: manifest.file).map { [UInt8]($0) } ?? []
        manifestHash = ContentHash.sha256(bytes)
    }

    public var runtime: any Runtime {
        switch manifest.runtime {
        case .local: LocalRuntime(manifest: manifest, manifestHash: manifestHash)
        case .compose: ComposeRuntime(manifest: manifest, manifestHash: manifestHash)
        }
    }
}
