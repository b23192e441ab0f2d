import Foundation
import Runtime
import Vocabulary

/// One release that became stable: what ran (command or image, version, environment), when, how
/// (deploy, promote, rollback --to) and the manifest it came from, so `rollback --to` can start it
/// again exactly.
public struct Release: Codable, Sendable, Equatable {
    public var number: Int
    public var version: String
    public var spec: TrackSpec
    /// What ran, as a person reads it: the command (runtime local) or the image (compose).
    public var runs: String
    public var at: Date
    /// `deploy`, `promote` or `rollback --to`.
    public var via: String
    public var manifestHash: String
    /// The manifest's text at the time.
    public var manifest: String

    /// Whether `spec` (a running track's) starts this release: the same version, command or image
    /// and environment, on whichever port.
    public func starts(_ spec: TrackSpec?) -> Bool {
        guard let spec else { return false }
        return (spec.version, spec.command, spec.image, spec.env) == (self.spec.version, self.spec.command, self.spec.image, self.spec.env)
    }
}

/// The last `keep` releases of a project (`<state_dir>/releases.json`, 0600: it holds the releases'
/// environment), oldest first.
public struct Releases: Sendable {
    public let path: String
    public let keep: Int

    public init(stateDirectory: String, keep: Int = 10) {
        path = "\(stateDirectory)/releases.json"
        self.keep = keep
    }

    /// The kept releases, oldest first (none before the first deploy).
    public func all() throws -> [Release] {
        guard let data = FileManager.default.contents(atPath: path) else { return [] }
        do {
            return try JSONDecoder.sorted.decode([Release].self, from: data)
        } catch {
            throw LifecycleError("\(path) is not a list of releases (\(error)); move it away to start a new list")
        }
    }

    /// Records a release that just became stable; returns it.
    @discardableResult
    public func record(_ spec: TrackSpec, via: String, project: Project, at date: Date = Date()) throws -> Release {
        var releases = try all()
        let runs = project.manifest.runtime == .compose ? spec.image ?? "" : spec.command.joined(separator: " ")
        let release = Release(number: (releases.last?.number ?? 0) + 1, version: spec.version, spec: spec, runs: runs, at: date, via: via,
                              manifestHash: project.manifestHash,
                              manifest: (try? String(contentsOfFile: project.manifest.file, encoding: .utf8)) ?? "")
        releases.append(release)
        releases.removeFirst(max(0, releases.count - keep))
        try FileWriter.write(String(decoding: JSONEncoder.sorted.encode(releases), as: UTF8.self), to: path, privately: true)
        return release
    }

    /// The newest kept release of `version`, or an error listing the versions there are.
    public func newest(_ version: String) throws -> Release {
        let releases = try all()
        guard let release = releases.last(where: { $0.version == version }) else {
            let kept = releases.map(\.version).reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }
            throw LifecycleError("no release \(version) is kept" + (kept.isEmpty ? " (none yet: the first deploy records one)" : "; kept: \(kept.joined(separator: ", "))")
                + " (swiftdeploy releases)")
        }
        return release
    }
}
