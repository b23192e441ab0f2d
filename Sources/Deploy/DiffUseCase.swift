import Foundation
import Manifest
import Render
import Runtime
import Vocabulary

/// `swiftdeploy diff`: unified diffs between what the manifest renders now and the files on disk
/// (the generated files, and nginx's live configuration when the stack runs), and what runs
/// against what the manifest declares (each track's version, and its image or command).
public struct DiffUseCase: Sendable {
    public let project: Project
    public let console: any Console

    public init(project: Project, console: any Console = TerminalConsole()) {
        self.project = project
        self.console = console
    }

    /// Returns true when anything drifted.
    public func run(out: String?) throws -> Bool {
        let manifest = project.manifest
        let directory = InitUseCase.outputDirectory(out, manifest: manifest)
        var comparisons: [(path: String, expected: String)] = try GeneratedFiles.render(manifest, manifestHash: project.manifestHash).map {
            ((directory as NSString).appendingPathComponent($0.name), $0.content)
        }
        // The running nginx's file against what it should hold for the routing in force (a canary's
        // weight included); for compose that file is the generated one, so its entry is replaced.
        let runtime = project.runtime
        if let running = runtime.runningNginx(), let routing = try runtime.state().routing {
            comparisons.removeAll { $0.path == running.configFile }
            comparisons.append((running.configFile, runtime.nginxConfig(for: routing)))
        }
        var drifted = try runningDrift(runtime)
        for (path, expected) in comparisons {
            guard let data = FileManager.default.contents(atPath: path) else {
                console.say("missing: \(path) (run `swiftdeploy init`)")
                drifted = true
                continue
            }
            let diff = TextDiff.unified(old: String(decoding: data, as: UTF8.self), new: expected,
                                        oldName: "\(path) (on disk)", newName: "\(path) (from \((manifest.file as NSString).lastPathComponent))")
            if diff.isEmpty {
                console.say("same:    \(path)")
            } else {
                drifted = true
                console.say(diff, terminator: "")
            }
        }
        console.say(drifted ? "drift: what runs or the files differ from the manifest; `swiftdeploy init` regenerates them (and `deploy` the live config)" : "no drift")
        return drifted
    }

    /// Each running track against the manifest's declaration of it; true when any differs.
    private func runningDrift(_ runtime: any Runtime) throws -> Bool {
        let manifest = project.manifest
        var drifted = false
        let state = try runtime.state()
        // A track that was started and whose process is gone is drift: what runs is not what was deployed.
        for (track, record) in ((try? runtime.recorded())?.tracks ?? [:]).sorted(by: { $0.key < $1.key })
        where state.tracks[track] == nil {
            let why = runtime.details(record.instance).health.map { " (\($0))" } ?? ""
            console.say("running: \(track) \(record.version) was started (\(record.instance)) and is not running\(why); `swiftdeploy deploy` starts it again")
            drifted = true
        }
        for (track, record) in state.tracks.sorted(by: { $0.key < $1.key }) {
            guard let declared = track == .stable ? TrackSpec.stable(manifest) : TrackSpec.canary(manifest) else { continue }
            let image = runtime.details(record.instance).image
            let fields = [("version", record.version, declared.version)] + (image.map { [("image", $0, declared.image ?? "")] }
                ?? [("command", record.spec.command.joined(separator: " "), declared.command.joined(separator: " "))])
            for (field, running, wanted) in fields where running != wanted {
                console.say("running: \(track) \(field) is \(running), \((manifest.file as NSString).lastPathComponent) says \(wanted)")
                drifted = true
            }
        }
        return drifted
    }
}
