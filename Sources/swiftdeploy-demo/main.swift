import ArgumentParser
import DemoService
import Foundation
import Hummingbird
import Logging
import ServiceLifecycle

/// `swiftdeploy-demo`: the backend the example manifest deploys. Every option also reads an
/// environment variable, so a runtime can configure it either way.
@main
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "swiftdeploy-demo",
        abstract: "Demo backend for SwiftDeploy: JSON greeting, /healthz, Prometheus /metrics, POST /chaos (canary only)."
    )

    @Option(help: "Port to listen on (env PORT).")
    var port: Int = Int(ProcessInfo.processInfo.environment["PORT"] ?? "") ?? 3000

    @Option(help: "Address to bind (env HOST).")
    var host: String = ProcessInfo.processInfo.environment["HOST"] ?? "127.0.0.1"

    @Option(help: "Traffic track this instance serves: stable or canary (env MODE).")
    var mode: String = ProcessInfo.processInfo.environment["MODE"] ?? "stable"

    @Option(name: .customLong("version"), help: "Version this instance reports (env APP_VERSION).")
    var appVersion: String = ProcessInfo.processInfo.environment["APP_VERSION"] ?? "1.0.0"

    @Flag(help: "Check the health of the instance on --port (GET /healthz on loopback) and exit 0 when it answers 200; for container health checks.")
    var healthCheck = false

    func validate() throws {
        guard TrackMode(rawValue: mode) != nil else {
            throw ValidationError("--mode must be stable or canary, got \"\(mode)\"")
        }
        guard (1...65535).contains(port) else {
            throw ValidationError("--port must be 1-65535, got \(port)")
        }
    }

    func run() async throws {
        if healthCheck {
            guard HealthProbe.isHealthy(port: port, path: "/healthz") else { throw ExitCode.failure }
            return
        }
        var logger = Logger(label: "swiftdeploy-demo")
        logger.logLevel = .info
        let config = DemoConfig(host: host, port: port, mode: TrackMode(rawValue: mode)!, version: appVersion)
        let app = DemoApplication.make(config: config, logger: logger)
        let group = ServiceGroup(
            configuration: .init(services: [app], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        )
        try await group.run()
    }
}
