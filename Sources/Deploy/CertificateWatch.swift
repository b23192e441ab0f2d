import Foundation
import Manifest
import Spawn

/// "Reloaded on change" without a daemon: a systemd path unit watches `nginx.tls`'s certificate and
/// key and starts a one-shot `swiftdeploy tls reload` when either is written (certbot, an ACME
/// client, a hand copy). Named per project, so several projects on a host each get their own.
public struct CertificateWatch: Sendable, Equatable {
    public var project: String
    public var binary: String
    public var manifest: String
    public var certificate: String
    public var key: String

    public init(project: String, binary: String, manifest: String, certificate: String, key: String) {
        (self.project, self.binary, self.manifest, self.certificate, self.key) = (project, binary, manifest, certificate, key)
    }

    /// The watch for a loaded manifest; refused without `nginx.tls`.
    public init(manifest: Manifest, binary: String) throws {
        guard let tls = manifest.nginx.tls else {
            throw LifecycleError("\(manifest.file) has no nginx.tls, so there is no certificate to watch; add certificate and key there first")
        }
        self.init(project: manifest.name, binary: binary, manifest: manifest.file, certificate: tls.certificate, key: tls.key)
    }

    /// The units' names for a project: its path unit and the service that unit starts.
    public static func units(of project: String) -> (path: String, service: String) {
        ("swiftdeploy-tls-\(project).path", "swiftdeploy-tls-\(project).service")
    }

    public var pathUnit: String { Self.units(of: project).path }
    public var serviceUnit: String { Self.units(of: project).service }

    /// The two unit files, name and text.
    public var files: [(name: String, text: String)] {
        [(pathUnit, filled(PackageResources.swiftdeploy_tls_path)), (serviceUnit, filled(PackageResources.swiftdeploy_tls_service))]
    }

    private func filled(_ template: [UInt8]) -> String {
        [("@PROJECT@", project), ("@BINARY@", binary), ("@MANIFEST@", manifest), ("@CERTIFICATE@", certificate), ("@KEY@", key),
         ("@SERVICE@", serviceUnit), ("@PATH_UNIT@", pathUnit)]
            .reduce(String(decoding: template, as: UTF8.self)) { $0.replacingOccurrences(of: $1.0, with: $1.1) }
    }

    /// Writes both units; with systemd running, enables and starts the watch.
    public func install(into directory: String = SystemdUnits.directory, start: Bool = true) throws -> [String] {
        for path in [binary, manifest, certificate, key] where !path.hasPrefix("/") {
            throw LifecycleError("\(path) is not an absolute path; systemd needs one")
        }
        return try SystemdUnits.install(files, enable: pathUnit, into: directory, start: start)
    }

    /// Stops a project's watch and removes both units; empty when there were none.
    public static func uninstall(project: String, from directory: String = SystemdUnits.directory) throws -> [String] {
        let names = units(of: project)
        return try SystemdUnits.uninstall([names.path, names.service], disable: names.path, from: directory)
    }
}
