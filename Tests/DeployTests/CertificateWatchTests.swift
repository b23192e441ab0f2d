import Foundation
import Spawn
import Testing

@testable import Deploy

/// `tls watch`: a systemd path unit on the certificate and key that starts `tls reload`; checked
/// by systemd's own verifier (no systemd runs as PID 1 here, so the trigger itself is systemd's).
@Suite struct CertificateWatchUnits {
    let units = NSTemporaryDirectory() + "swiftdeploy-units-\(UUID().uuidString.prefix(8))"

    @Test func unitsWatchBothFilesRunTheReloadAndPassSystemdsVerifier() throws {
        let directory = try temporaryProject(shop.replacingOccurrences(
            of: "nginx: { port: 18080 }", with: "nginx: { port: 18080, tls: { certificate: tls/fullchain.pem, key: /etc/ssl/private/shop.key } }"))
        defer { try? FileManager.default.removeItem(atPath: directory); try? FileManager.default.removeItem(atPath: units) }
        let watch = try CertificateWatch(manifest: Project(file: "\(directory)/swiftdeploy.yaml").manifest, binary: "/bin/true", user: "root")
        let done = try watch.install(into: units, start: false)
        let path = "\(units)/swiftdeploy-tls-shop.path", service = "\(units)/swiftdeploy-tls-shop.service"
        #expect(done.prefix(2) == ["wrote \(path)", "wrote \(service)"])
        let pathText = try String(contentsOfFile: path, encoding: .utf8), serviceText = try String(contentsOfFile: service, encoding: .utf8)
        #expect(pathText.contains("PathChanged=\(directory)/tls/fullchain.pem\n"), "relative to the manifest, made absolute:\n\(pathText)")
        #expect(pathText.contains("PathChanged=/etc/ssl/private/shop.key\n") && pathText.contains("Unit=swiftdeploy-tls-shop.service\n"))
        #expect(serviceText.contains("Type=oneshot\n") && serviceText.contains("ExecStart=/bin/true tls reload -f \(directory)/swiftdeploy.yaml --wait\n"))
        #expect(serviceText.contains("User=root\n") && serviceText.contains("ReadWritePaths=-\(directory)/.swiftdeploy\n") && serviceText.contains("NoNewPrivileges=yes\n"))
        #expect(!(pathText + serviceText).contains("@"), "every placeholder filled")
        let verify = try ChildProcess.run(["systemd-analyze", "verify", "--man=no", path, service])
        #expect(verify.status == 0, "systemd-analyze verify: \(verify.output)")
        #expect(try CertificateWatch.uninstall(project: "shop", from: units) == ["removed \(path)", "removed \(service)"])
        #expect(try CertificateWatch.uninstall(project: "shop", from: units).isEmpty, "nothing to remove the second time")
    }

    @Test func withoutTLSThereIsNothingToWatch() throws {
        let directory = try temporaryProject(shop)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        #expect { try CertificateWatch(manifest: Project(file: "\(directory)/swiftdeploy.yaml").manifest, binary: "/bin/true", user: "root") } throws: {
            "\($0)".contains("has no nginx.tls, so there is no certificate to watch")
        }
        let relative = CertificateWatch(project: "shop", binary: "swiftdeploy", manifest: "/etc/swiftdeploy/swiftdeploy.yaml",
                                        stateDirectory: "/var/lib/swiftdeploy", certificate: "/etc/ssl/shop.pem", key: "/etc/ssl/shop.key", user: "root")
        #expect { try relative.install(into: units, start: false) } throws: { "\($0)".contains("swiftdeploy is not an absolute path") }
        #expect(!FileManager.default.fileExists(atPath: units), "nothing written")
    }

    /// A path is pasted into a line-oriented file: a newline in it would add the path's author's
    /// directives (`ExecStartPre=` as root), a space would add an argument.
    @Test(arguments: ["/srv/shop\nExecStartPre=/tmp/x/run.sh", "/srv/my shop/swiftdeploy.yaml", "/srv/shop\";x", "/srv/shop\u{7f}"])
    func aPathThatWouldChangeTheUnitIsRefused(manifest: String) throws {
        let watch = CertificateWatch(project: "shop", binary: "/usr/bin/swiftdeploy", manifest: manifest, stateDirectory: "/var/lib/swiftdeploy",
                                     certificate: "/etc/ssl/shop.pem", key: "/etc/ssl/shop.key", user: "shop")
        #expect { try watch.install(into: units, start: false) } throws: { "\($0)".contains("cannot go into a systemd unit") }
        #expect(!FileManager.default.fileExists(atPath: units), "nothing written")
    }

    @Test func aPercentSignIsWrittenAsSystemdReadsIt() throws {
        let watch = CertificateWatch(project: "shop", binary: "/usr/bin/swiftdeploy", manifest: "/srv/100%h/swiftdeploy.yaml",
                                     stateDirectory: "/var/lib/swiftdeploy", certificate: "/etc/ssl/shop.pem", key: "/etc/ssl/shop.key", user: "shop")
        #expect(try watch.files()[1].text.contains("-f /srv/100%%h/swiftdeploy.yaml "))
    }
}
