import Manifest

/// Every file `swiftdeploy init` writes, rendered from one manifest. `diff` compares the same list.
public enum GeneratedFiles {
    public struct File: Sendable, Equatable {
        public let name: String
        public let content: String
        /// Readable by its owner alone: the compose file holds the services' `env:` values.
        public var isPrivate = false
    }

    public static func render(_ manifest: Manifest, manifestHash: String) throws -> [File] {
        var files = [
            File(name: "nginx.conf", content: NginxConfig.render(
                manifest, target: NginxTarget(manifest.runtime), routing: .declared(manifest), manifestHash: manifestHash)),
            File(name: "docker-compose.yml", content: try ComposeFile.render(manifest, manifestHash: manifestHash), isPrivate: true),
        ]
        if manifest.policy.engine == .opa { files.append(File(name: ComposeFile.opaAuthzFile, content: ComposeFile.opaAuthz)) }
        return files
    }

    /// Every name this tool may generate (what `teardown --clean` removes).
    public static let names = ["nginx.conf", "docker-compose.yml", ComposeFile.opaAuthzFile]
}
