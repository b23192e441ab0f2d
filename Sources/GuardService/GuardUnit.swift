import Foundation
import Spawn
import Vocabulary

/// The guard as a systemd service (`Units/swiftdeploy-guard.service`, embedded): the unit that
/// `guard install` writes for a build from source and that the Debian package ships, with the
/// binary, the manifest and the state folder filled in.
public struct GuardUnit: Sendable, Equatable {
    public static let name = "swiftdeploy-guard.service"
    public static let directory = SystemdUnits.directory

    public var binary: String
    public var manifest: String
    public var stateDirectory: String

    public init(binary: String, manifest: String, stateDirectory: String) {
        (self.binary, self.manifest, self.stateDirectory) = (binary, manifest, stateDirectory)
    }

    /// The unit file's text; refused for a path a unit file cannot hold as it is.
    public func text() throws(ProcessError) -> String {
        try SystemdUnits.fill(PackageResources.swiftdeploy_guard_service, [("BINARY", binary), ("MANIFEST", manifest), ("STATE", stateDirectory)])
    }

    /// Writes the unit into `directory`; with systemd running, reloads it and enables and starts the
    /// guard. Returns what was done, line by line.
    public func install(into directory: String = GuardUnit.directory, start: Bool = true) throws -> [String] {
        for path in [binary, manifest, stateDirectory] {
            guard path.hasPrefix("/") else { throw GuardCommandError.unit("\(path) is not an absolute path; systemd needs one") }
            guard !path.hasPrefix("/home/"), !path.hasPrefix("/root/") else {
                throw GuardCommandError.unit("\(path) is under /home or /root, which the service cannot see (ProtectHome=yes); "
                    + "put the manifest in /etc/swiftdeploy and its state_dir under /var/lib/swiftdeploy")
            }
        }
        do {
            return try SystemdUnits.install([(Self.name, text())], enable: Self.name, into: directory, start: start)
        } catch {
            throw GuardCommandError.unit(error.description)
        }
    }

    /// Stops and disables the guard (when systemd runs) and removes the unit; nil when there was none.
    public static func uninstall(from directory: String = GuardUnit.directory) throws -> String? {
        do {
            return try SystemdUnits.uninstall([name], disable: name, from: directory).first
        } catch {
            throw GuardCommandError.unit(error.description)
        }
    }
}
