import Foundation
import Manifest
import Spawn

/// "Reloaded on change" without a daemon: a systemd path unit watches `nginx.tls`'s certificate and
/// key and starts a one-shot `swiftdeploy tls reload` when either is written (certbot, an ACME
/// client, a hand copy). Named per project, so several projects on a host each get their own.
/// The reload runs as the project's owner (`User=`), so it never acts as root in that user's folder.
public struct CertificateWatch: Sendable, Equatable {
    public var project: String
    public var binary: String
    public var manifest: String
    public var stateDirectory: String
    public var certificate: String
    public var key: String
    /// Who the reload runs as: the project's owner.
    public var user: String

    public init(project: String, binary: String, manifest: String, stateDirectory: String, certificate: String, key: String, user: String) {
        (self.project, self.binary, self.manifest, self.stateDirectory, self.certificate, self.key, self.user)
            = (project, binary, manifest, stateDirectory, certificate, key, user)
    }

    /// The watch for a loaded manifest, run as `user`; refused without `nginx.tls`.
    public init(manifest: Manifest, binary: String, user: String) throws {
        guard let tls = manifest.nginx.tls else {
            throw LifecycleError("\(manifest.file) has no nginx.tls, so there is no certificate to watch; add certificate and key there first")
        }
        self.init(project: manifest.name, binary: binary, manifest: manifest.file, stateDirectory: manifest.stateDirectory,
                  certificate: tls.certificate, key: tls.key, user: user)
    }

    /// The units' names for a project: its path unit and the service that unit starts.
    public static func units(of project: String) -> (path: String, service: String) {
        ("swiftdeploy-tls-\(project).path", "swiftdeploy-tls-\(project).service")
    }

    public var pathUnit: String { Self.units(of: project).path }
    public var serviceUnit: String { Self.units(of: project).service }

    /// The two unit files, name and text; refused for a value a unit file cannot hold as it is.
    public func files() throws -> [(name: String, text: String)] {
        let values = [("PROJECT", project), ("BINARY", binary), ("MANIFEST", manifest), ("STATE", stateDirectory), ("CERTIFICATE", certificate),
                      ("KEY", key), ("USER", user), ("SERVICE", serviceUnit), ("PATH_UNIT", pathUnit)]
        return [(pathUnit, try SystemdUnits.fill(PackageResources.swiftdeploy_tls_path, values)),
                (serviceUnit, try SystemdUnits.fill(PackageResources.swiftdeploy_tls_service, values))]
    }

    /// Writes both units; with systemd running, enables and starts the watch.
    public func install(into directory: String = SystemdUnits.directory, start: Bool = true) throws -> [String] {
        for path in [binary, manifest, stateDirectory, certificate, key] where !path.hasPrefix("/") {
            throw LifecycleError("\(path) is not an absolute path; systemd needs one")
        }
        return try SystemdUnits.install(files(), enable: pathUnit, into: directory, start: start)
    }

    /// Stops a project's watch and removes both units; empty when there were none.
    public static func uninstall(project: String, from directory: String = SystemdUnits.directory) throws -> [String] {
        let names = units(of: project)
        return try SystemdUnits.uninstall([names.path, names.service], disable: names.path, from: directory)
    }
}
