import Foundation
import Spawn
import Vocabulary

/// The guard as a systemd service (`Units/swiftdeploy-guard.service`, embedded): the unit that
/// `guard install` writes for a build from source and that the Debian package ships, with the
/// binary, the manifest and the state folder filled in.
public struct GuardUnit: Sendable, Equatable {
    public static let name = "swiftdeploy-guard.service"
    /// Where units written by the administrator live.
    public static let directory = "/etc/systemd/system"

    public var binary: String
    public var manifest: String
    public var stateDirectory: String

    public init(binary: String, manifest: String, stateDirectory: String) {
        (self.binary, self.manifest, self.stateDirectory) = (binary, manifest, stateDirectory)
    }

    /// The unit file's text.
    public var text: String {
        String(decoding: PackageResources.swiftdeploy_guard_service, as: UTF8.self)
            .replacingOccurrences(of: "@BINARY@", with: binary)
            .replacingOccurrences(of: "@MANIFEST@", with: manifest)
            .replacingOccurrences(of: "@STATE@", with: stateDirectory)
    }

    /// Whether systemd runs this machine (PID 1), so `systemctl` can be asked.
    public static var systemdIsRunning: Bool { FileManager.default.fileExists(atPath: "/run/systemd/system") }

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
        let path = "\(directory)/\(Self.name)"
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: path)
        } catch {
            throw GuardCommandError.unit("cannot write \(path): \(error.localizedDescription) (run it as root)")
        }
        var done = ["wrote \(path)"]
        guard Self.systemdIsRunning, start else {
            done.append(Self.systemdIsRunning ? "start it with: systemctl enable --now \(Self.name)"
                : "systemd is not running here; on a host with systemd: systemctl daemon-reload && systemctl enable --now \(Self.name)")
            return done
        }
        try Self.systemctl("daemon-reload")
        try Self.systemctl("enable", "--now", Self.name)
        return done + ["enabled and started \(Self.name) (systemctl status \(Self.name); journalctl -u \(Self.name))"]
    }

    /// Stops and disables the guard (when systemd runs) and removes the unit; nil when there was none.
    public static func uninstall(from directory: String = GuardUnit.directory) throws -> String? {
        let path = "\(directory)/\(name)"
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        if systemdIsRunning { try systemctl("disable", "--now", name) }
        do {
            try FileManager.default.removeItem(atPath: path)
        } catch {
            throw GuardCommandError.unit("cannot remove \(path): \(error.localizedDescription) (run it as root)")
        }
        if systemdIsRunning { try systemctl("daemon-reload") }
        return "removed \(path)"
    }

    static func systemctl(_ arguments: String...) throws {
        let result = try ChildProcess.run(["systemctl"] + arguments)
        guard result.status == 0 else { throw GuardCommandError.unit("systemctl \(arguments.joined(separator: " ")) failed: \(result.output)") }
    }
}
