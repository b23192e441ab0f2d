import ArgumentParser
import Deploy
import EdgeTLS
import Foundation
import Manifest
import Spawn

/// `swiftdeploy tls`: HTTPS at the edge (`nginx.tls`).
struct TLSCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tls", abstract: "HTTPS at the edge: check the certificate, reload it after renewal, make one for development.",
        subcommands: [Status.self, Reload.self, Watch.self, Unwatch.self, SelfSigned.self])

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check nginx.tls's certificate and key: they belong together, the chain is in order, and days to expiry (exit 1 if unusable).")
        @OptionGroup var manifest: ManifestOption

        func run() async throws {
            try await Failure.reporting {
                let project = try manifest.project()
                guard let tls = project.manifest.nginx.tls else {
                    print("tls: off (\(project.manifest.file) has no nginx.tls); nginx serves plain HTTP on port \(project.manifest.nginx.port)")
                    return
                }
                let certificate = try EdgeCertificate(certificateFile: tls.certificate, keyFile: tls.key)
                print("tls: \(certificate.summary)")
                for warning in certificate.warnings { print("  warning: \(warning)") }
            }
        }
    }

    struct Reload: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "After a renewal: check the new certificate and key, then reload nginx with them (refused pairs leave the edge as it is).",
            discussion: "certbot: certbot renew --deploy-hook 'swiftdeploy tls reload -f /etc/swiftdeploy/swiftdeploy.yaml'")
        @OptionGroup var manifest: ManifestOption
        @OptionGroup var lock: LockOption

        func run() async throws {
            try await lock.changing(manifest, as: "tls reload") { try await $0.reloadCertificate() }
        }
    }

    struct Watch: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Reload the certificate whenever its files change: write and start a systemd path unit that runs `tls reload` (needs root).",
            discussion: "Writes swiftdeploy-tls-<name>.path and .service. On a host without systemd the units are written and the commands to start them are printed.")
        @OptionGroup var manifest: ManifestOption
        @OptionGroup var unit: UnitOptions

        func run() async throws {
            try await Failure.reporting {
                let watch = try CertificateWatch(manifest: Project(file: URL(fileURLWithPath: manifest.file).standardizedFileURL.path).manifest,
                                                 binary: unit.executable, user: manifest.owner())
                if unit.print {
                    for file in try watch.files() { Swift.print("# \(file.name)\n\(file.text)") }
                    return
                }
                for line in try watch.install(into: unit.unitDirectory, start: !unit.noStart) { Swift.print("tls: \(line)") }
            }
        }
    }

    struct Unwatch: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop watching the certificate's files and remove the units `tls watch` wrote.")
        @OptionGroup var manifest: ManifestOption
        @Option(help: "Where the units were written.") var unitDirectory: String = SystemdUnits.directory

        func run() async throws {
            try await Failure.reporting {
                let name = try manifest.project().manifest.name
                let removed = try CertificateWatch.uninstall(project: name, from: unitDirectory)
                Swift.print(removed.isEmpty ? "tls: no watch of \(name)'s certificate to remove" : removed.map { "tls: \($0)" }.joined(separator: "\n"))
            }
        }
    }

    struct SelfSigned: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "self-signed",
            abstract: "Make a self-signed certificate and key (ECDSA P-256) for development, and print the nginx.tls lines that use them.")
        @Option(name: .customLong("name"), help: "A DNS name or IP address it is for (repeatable; default: localhost, 127.0.0.1, ::1).")
        var names: [String] = []
        @Option(help: "Days it is valid.") var days: Int = 30
        @Option(help: "Where to write the certificate.") var certificate: String = "tls/certificate.pem"
        @Option(help: "Where to write the key (mode 0600).") var key: String = "tls/key.pem"

        func validate() throws {
            guard (1...825).contains(days) else { throw ValidationError("--days: 1 to 825 (clients refuse longer-lived server certificates)") }
        }

        func run() async throws {
            try await Failure.reporting {
                let names = self.names.isEmpty ? ["localhost", "127.0.0.1", "::1"] : self.names
                try SelfSignedCertificate.write(names: names, days: days, certificateFile: certificate, keyFile: key)
                print("tls: wrote \(certificate) and \(key) (self-signed for \(names.joined(separator: ", ")), \(days) days)")
                print("add to swiftdeploy.yaml:\n  nginx:\n    tls:\n      certificate: \(certificate)\n      key: \(key)\n      port: 8443\n      hsts: 0s   # a development name should not be pinned to HTTPS in your browser")
                print("clients trust it with: curl --cacert \(certificate) https://localhost:8443/")
            }
        }
    }
}
