import Foundation
import Runtime
import Vocabulary

/// `swiftdeploy logs [stable|canary|nginx|access|guard] [-f]`: where each part of the stack writes,
/// shown with the tool that shows it best (`tail -F` for a file, `docker logs` for a container).
public struct LogsUseCase: Sendable {
    /// What to show.
    public enum Source: String, CaseIterable, Sendable {
        case stable, canary
        /// nginx's own errors (a process: its error.log; a container: its output).
        case nginx
        /// The edge's access log, the one the guard and the canary analysis read.
        case access
        /// The guard's audit log: one line per decision.
        case `guard`
    }

    /// Where a source writes.
    public enum Location: Equatable, Sendable {
        case file(String)
        case container(String)
    }

    public let stack: Stack

    public init(stack: Stack) { self.stack = stack }

    /// Where `source` writes (`guard` is the guard's own: the caller knows its folder).
    public func location(of source: Source) throws -> Location {
        let runtime = stack.runtime
        switch source {
        case .stable, .canary:
            let track = Track(rawValue: source.rawValue)!
            // A track that ended is still worth reading: its last lines say why.
            if let record = try runtime.state().tracks[track] ?? runtime.recorded().tracks[track] {
                if case .container(let id) = record.instance { return .container(id) }
                return .file(record.log)
            }
            // A start that failed left no record, only its log: the newest of the track's.
            let folder = "\(runtime.stateDirectory)/logs", prefix = "\(stack.manifest.service.name)-\(track)-"
            let logs = ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).filter { $0.hasPrefix(prefix) && $0.hasSuffix(".log") }
            let newest = logs.max { modified("\(folder)/\($0)") < modified("\(folder)/\($1)") }
            guard let newest else { throw LifecycleError("no \(track) track was started; `swiftdeploy status` shows what runs") }
            return .file("\(folder)/\(newest)")
        case .nginx:
            if case .container(let id)? = runtime.runningNginx()?.instance { return .container(id) }
            return .file("\(runtime.stateDirectory)/nginx/logs/error.log")
        case .access:
            return .file(runtime.accessLog)
        case .guard:
            throw LifecycleError("the guard's log is in its own folder: the command knows where")
        }
    }

    /// The command that shows `location`: its last `lines` lines, then, with `follow`, what comes
    /// (through rotations and truncations: `tail -F`).
    public static func command(showing location: Location, lines: Int, follow: Bool) -> [String] {
        switch location {
        case .file(let path): ["tail", "-n", String(lines)] + (follow ? ["-F"] : []) + [path]
        case .container(let id): ["docker", "logs", "--tail", String(lines)] + (follow ? ["--follow"] : []) + [id]
        }
    }

    private func modified(_ path: String) -> Date {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date) ?? .distantPast
    }
}
