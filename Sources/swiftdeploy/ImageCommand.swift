import ArgumentParser
import Foundation
import Deploy
import Manifest
import Policy
import Runtime
import Spawn
import Telemetry
import Vocabulary

struct ImageCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "image", abstract: "Container images for runtime compose, without a registry.", subcommands: [Build.self])

    struct Build: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make the images the manifest names: the demo service from its binary, nginx pulled or stood in for by Debian's.",
            discussion: """
                The demo image (every swiftdeploy-demo:TAG the manifest names) carries the swiftdeploy-demo binary and the libraries                 it links, runs as a user of its own and checks its own health. The nginx image is used when present, else pulled,                 else (or with --offline) built from Debian's nginx on a local Debian base made by debootstrap.
                """)
        @OptionGroup var manifest: ManifestOption
        @Option(help: "The swiftdeploy-demo binary to package (default: the one beside swiftdeploy; a release build with --static-swift-stdlib is smallest).")
        var binary: String?
        @Option(name: .customLong("tag"), help: "Also tag the demo image so (repeatable).") var tags: [String] = []
        @Flag(help: "Never ask a registry: a missing nginx image is built from Debian's.") var offline = false

        func run() async throws {
            try await Failure.reporting {
                let project = try manifest.project()
                let images = ContainerImages(manifest: project.manifest, console: TerminalConsole(),
                                             demoBinary: binary ?? "\(ChildProcess.executableDirectory)/swiftdeploy-demo", offline: offline)
                let built = try images.build(extraDemoTags: tags)
                TerminalConsole().say("images ready: \(built.joined(separator: ", "))")
            }
        }
    }
}
