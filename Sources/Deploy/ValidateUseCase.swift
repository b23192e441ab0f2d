import EdgeTLS
import Foundation
import Manifest
import Policy
import Render
import Runtime
import Spawn
import Telemetry
import Vocabulary

/// `swiftdeploy validate`: one PASS/FAIL/SKIP line per check; any FAIL fails the command.
public struct ValidateUseCase: Sendable {
    public enum Outcome: String, Sendable {
        case pass = "PASS"
        case fail = "FAIL"
        case skip = "SKIP"
        /// Worth fixing soon, but not a failure (a certificate near its end, a self-signed one).
        case warn = "WARN"
    }

    public struct Check: Sendable, Equatable {
        public let outcome: Outcome
        public let name: String
        public let detail: String
    }

    public let file: String
    public let environment: [String: String]
    public let console: any Console

    public init(file: String, environment: [String: String] = ProcessInfo.processInfo.environment, console: any Console = TerminalConsole()) {
        self.file = file
        self.environment = environment
        self.console = console
    }

    /// Runs every check, prints each as it completes, and returns them all.
    @discardableResult
    public func run() async -> [Check] {
        var checks: [Check] = []
        func record(_ outcome: Outcome, _ name: String, _ detail: String = "") {
            let check = Check(outcome: outcome, name: name, detail: detail)
            checks.append(check)
            console.say("\(outcome.rawValue)  \(name)\(detail.isEmpty ? "" : ":\(detail.hasPrefix("\n") ? "" : " ")\(detail)")")
        }
        let project: Project
        do {
            project = try Project(file: file, environment: environment)
            record(.pass, "manifest parses", file)
            record(.pass, "required fields are present")
        } catch {
            func listing(_ problems: [ManifestProblem]) -> String { problems.map { "\n      \($0)" }.joined() }
            let unreadable = error.problems.filter { $0.kind == .syntax }
            let invalid = error.problems.filter { $0.kind == .invalidValue }
            let missing = error.problems.filter { $0.kind == .missingField }
            if !unreadable.isEmpty {
                record(.fail, "manifest parses", listing(unreadable))
                record(.skip, "required fields are present", "the manifest could not be read")
                return checks
            }
            record(invalid.isEmpty ? .pass : .fail, "manifest parses", invalid.isEmpty ? file : listing(invalid))
            record(missing.isEmpty ? .pass : .fail, "required fields are present", listing(missing))
            return checks
        }
        let manifest = project.manifest
        switch manifest.runtime {
        case .local:
            var commands = [("stable", manifest.service.command ?? [])]
            if let canary = manifest.service.canary { commands.append(("canary", canary.command ?? [])) }
            for (track, command) in commands {
                guard let program = command.first else { continue }
                do {
                    record(.pass, "\(track) command is executable", try ChildProcess.resolve(program))
                } catch {
                    record(.fail, "\(track) command is executable", error.description)
                }
            }
        case .compose:
            let images = [manifest.service.image, manifest.service.canary?.image, manifest.nginx.image].compactMap { $0 }
            do {
                record(.pass, "Docker engine answers", try project.runtime.summary())
                for image in Set(images).sorted() {
                    let present = Docker.hasImage(image)
                    record(present ? .pass : .fail, "image \(image) exists locally",
                           present ? "" : "not found; `swiftdeploy image build` makes it, or docker pull \(image)")
                }
            } catch {
                record(.fail, "Docker engine answers", "\(error)")
                for image in Set(images).sorted() { record(.skip, "image \(image) exists locally", "no Docker engine answers here") }
            }
        }
        let ours = (try? project.runtime.recorded())?.ports ?? []
        var slots = [("stable", TrackSpec.slots(manifest.service.port))]
        if let canary = manifest.service.canary { slots.append(("canary", TrackSpec.slots(canary.port))) }
        for (track, ports) in slots {
            let name = "\(track) ports \(ports.map(String.init).joined(separator: " and ")) are free or this stack's"
            let taken = ports.filter { !PortProbe.isFree($0) && !ours.contains($0) }
            record(taken.isEmpty ? .pass : .fail, name, taken.map { "\($0) is taken by \(PortProbe.holder($0) ?? "another program")" }.joined(separator: "; "))
        }
        let own = project.runtime.runningNginx()
        for port in edgePorts(manifest) {
            if let own {
                record(.pass, "nginx port \(port) is free", "held by this stack's own nginx (\(own.instance))")
            } else if PortProbe.isFree(port, host: manifest.nginx.listen) {
                record(.pass, "nginx port \(port) is free")
            } else {
                record(.fail, "nginx port \(port) is free", "taken by \(PortProbe.holder(port) ?? "another program") (ss -ltnp 'sport = :\(port)')")
            }
        }
        let reading = guardLogCheck(manifest.guardSettings)
        record(reading.outcome, reading.name, reading.detail)
        if let check = banLengthCheck(manifest.guardSettings) { record(check.outcome, check.name, check.detail) }
        if let tls = manifest.nginx.tls {
            do {
                let certificate = try EdgeCertificate(certificateFile: tls.certificate, keyFile: tls.key)
                record(.pass, "TLS certificate and key belong together", certificate.summary)
                for warning in certificate.warnings { record(.warn, "TLS certificate", warning) }
            } catch {
                record(.fail, "TLS certificate and key belong together", error.description)
                record(.skip, "nginx -t accepts the generated config", "it needs a certificate nginx can load")
                return checks
            }
        }
        // The engine loads and compiles every policy now, not at the first deploy: a question with no
        // measurements gets a deny from a working policy, and no answer from a broken engine.
        let engine = PolicySetup(manifest: manifest).engine()
        for policy in PolicyName.allCases {
            let decision = await engine.decide(policy, input: [:])
            record(decision.unanswered == nil ? .pass : .fail, "\(policy.rawValue) policy answers", decision.unanswered ?? engine.name)
        }
        let nginx = nginxTest(project)
        record(nginx.outcome, nginx.name, nginx.detail)
        return checks
    }

    /// Ban lengths longer than the firewall's own timeouts go into the kernel without one and are
    /// lifted by the guard when due: said (nil when all fit), since such a ban outlives a stopped guard.
    func banLengthCheck(_ settings: GuardSettings) -> Check? {
        guard let limit = settings.enforcer.longestTimeout else { return nil }
        let long = settings.bans.compactMap { length -> String? in
            guard case .lasting(let duration) = length, duration.components.seconds > limit else { return nil }
            return duration.manifestText
        }
        guard !long.isEmpty else { return nil }
        return Check(outcome: .warn, name: "ban lengths fit \(settings.enforcer.rawValue)'s timeouts", detail: "\(long.joined(separator: ", ")) is longer than \(settings.enforcer.rawValue) holds "
            + "(\(limit) s): such a ban goes into the kernel without a timeout and the guard lifts it when due (while the guard is stopped it stays)")
    }

    /// The end of the guard's log (its last 200 lines, from at most its last 64 KiB) read in
    /// `guard.log_format` (with `auto`, in any format the guard reads): a log whose lines mostly do
    /// not parse is one the guard reads nothing from, so it bans nobody. A log not there yet is a
    /// fresh host, not a failure.
    func guardLogCheck(_ settings: GuardSettings) -> Check {
        let name = "guard log parses"
        let log = settings.log
        let lines: [[UInt8]]?
        do {
            lines = try LogFile.lastLines(of: log)
        } catch {
            if case .refused = error { return Check(outcome: .fail, name: name, detail: "the guard would refuse it: \(error)") }
            return Check(outcome: .skip, name: name, detail: error.description)
        }
        guard let lines, !lines.isEmpty else {
            return Check(outcome: .skip, name: name, detail: "\(log) \(lines == nil ? "is not there yet" : "is empty") (nginx writes it once it serves)")
        }
        let reading = LogReadability.judge(lines, in: settings.logFormat)
        if reading.isMostlyMalformed {
            return Check(outcome: .fail, name: name, detail: "\(log): of its last lines, \(reading.finding)\(reading.example); \(LogReadability.remedy)")
        }
        if reading.share > LogReadability.alarmShare {
            return Check(outcome: .warn, name: name, detail: "\(log): of its last lines, \(reading.finding)\(reading.example)")
        }
        return Check(outcome: .pass, name: name, detail: "\(log): its last \(reading.lines) lines read as \(reading.formatText)")
    }

    /// `nginx -t` on the generated config inside a temporary prefix, so no root-owned path is touched.
    func nginxTest(_ project: Project) -> Check {
        let name = "nginx -t accepts the generated config"
        let prefix = NSTemporaryDirectory() + "swiftdeploy-validate-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: prefix) }
        let config = NginxConfig.render(project.manifest, target: .local, routing: .declared(project.manifest), manifestHash: project.manifestHash)
        do {
            let server = NginxServer(binary: project.manifest.nginx.binary, prefix: prefix, configFile: "\(prefix)/nginx.conf")
            try server.prepare()
            try installEdgeCertificate(project.manifest, nextTo: server.configFile)
            try FileWriter.write(config, to: server.configFile)
            try server.test()
            return Check(outcome: .pass, name: name, detail: "")
        } catch {
            return Check(outcome: .fail, name: name, detail: "\(error)")
        }
    }
}
