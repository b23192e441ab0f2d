import Foundation
import Manifest
import Policy
import Render
import Runtime
import Vocabulary

/// `swiftdeploy init`: write the generated files beside the manifest (or into `--out`), only
/// rewriting a file whose bytes change, so running it twice changes nothing.
public struct InitUseCase: Sendable {
    public struct Written: Sendable, Equatable {
        public let path: String
        public let changed: Bool
    }

    public let project: Project
    public let console: any Console

    public init(project: Project, console: any Console = TerminalConsole()) {
        self.project = project
        self.console = console
    }

    public static func outputDirectory(_ out: String?, manifest: Manifest) -> String {
        out.map { ManifestLoader.absolutePath($0, relativeTo: FileManager.default.currentDirectoryPath) } ?? manifest.directory
    }

    /// Writes the example manifest to `path` unless a file is already there.
    public static func writeExample(to path: String, console: any Console = TerminalConsole()) throws(FileWriteError) {
        if FileManager.default.fileExists(atPath: path) {
            console.say("init: \(path) already exists; leaving it as it is")
            return
        }
        try FileWriter.write(ExampleManifest.text, to: path)
        console.say("init: wrote the example manifest to \(path)")
    }

    @discardableResult
    public func run(out: String?) throws -> [Written] {
        let directory = Self.outputDirectory(out, manifest: project.manifest)
        var written: [Written] = []
        for file in try GeneratedFiles.render(project.manifest, manifestHash: project.manifestHash) {
            let path = (directory as NSString).appendingPathComponent(file.name)
            let changed = try FileWriter.writeIfChanged(file.content, to: path, privately: file.isPrivate)
            written.append(Written(path: path, changed: changed))
            console.say("init: \(changed ? "wrote" : "unchanged") \(path)")
        }
        // The shipped policies, for users to read and edit; an existing file is never overwritten.
        for path in try PolicyFiles.install(into: project.manifest.policy.directory) {
            console.say("init: wrote \(path)")
        }
        return written
    }
}
