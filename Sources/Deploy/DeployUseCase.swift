import Foundation
import Manifest
import Runtime
import Telemetry

/// `swiftdeploy deploy`: bring the stable track up behind nginx and wait until it answers through nginx.
public struct DeployUseCase: Sendable {
    public let project: Project
    public let console: any Console

    public init(project: Project, console: any Console = TerminalConsole()) {
        self.project = project
        self.console = console
    }

    /// Returns the URL the stack answers on.
    @discardableResult
    public func run() async throws -> String {
        let manifest = project.manifest
        let runtime = project.runtime
        console.say("deploy: \(manifest.name) \(manifest.service.version) (runtime \(manifest.runtime.rawValue))")
        let record = try await runtime.start(.stable)
        console.say("  stable  \(manifest.service.name) \(record.version) healthy on 127.0.0.1:\(record.port) (pid \(record.pid), log \(record.log))")
        let current = try runtime.state()
        try await runtime.route(canaryWeight: current.tracks[.canary] != nil ? current.canaryWeight : nil)
        let url = project.localRuntime.publicURL
        try await HealthWait.until200("\(url)\(manifest.service.healthcheck.path)", timeout: manifest.service.healthcheck.timeout)
        console.say("  nginx   \(url) (access log \(manifest.guardSettings.log))")
        console.say("ready: open \(url)")
        return url
    }
}

/// `swiftdeploy teardown`: stop nginx and every track; `--clean` also removes the state directory.
public struct TeardownUseCase: Sendable {
    public let project: Project
    public let console: any Console

    public init(project: Project, console: any Console = TerminalConsole()) {
        self.project = project
        self.console = console
    }

    public func run(clean: Bool) async throws {
        try await project.runtime.teardown()
        console.say("teardown: stopped nginx and all tracks of \(project.manifest.name)")
        if clean {
            try? FileManager.default.removeItem(atPath: project.manifest.stateDirectory)
            console.say("teardown: removed \(project.manifest.stateDirectory)")
        }
    }
}
