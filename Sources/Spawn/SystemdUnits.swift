import Foundation

/// Unit files the administrator's way (`/etc/systemd/system`): written, then, when systemd runs
/// this machine, loaded and enabled; or disabled and removed. Shared by every unit SwiftDeploy
/// installs (the guard's service, the certificate watch).
public enum SystemdUnits {
    /// Where units written by the administrator live.
    public static let directory = "/etc/systemd/system"

    /// Whether systemd runs this machine (PID 1), so `systemctl` can be asked.
    public static var systemdIsRunning: Bool { FileManager.default.fileExists(atPath: "/run/systemd/system") }

    /// Writes each file (0644) into `directory`; with systemd running and `start`, reloads systemd
    /// and enables and starts `enable`. Returns what was done, line by line.
    public static func install(_ files: [(name: String, text: String)], enable: String, into directory: String = directory,
                               start: Bool = true) throws(ProcessError) -> [String] {
        var done: [String] = []
        for file in files {
            let path = "\(directory)/\(file.name)"
            do {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
                try file.text.write(toFile: path, atomically: true, encoding: .utf8)
                try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: path)
            } catch {
                throw ProcessError("cannot write \(path): \(error.localizedDescription) (run it as root)")
            }
            done.append("wrote \(path)")
        }
        guard systemdIsRunning, start else {
            done.append(systemdIsRunning ? "start it with: systemctl enable --now \(enable)"
                : "systemd is not running here; on a host with systemd: systemctl daemon-reload && systemctl enable --now \(enable)")
            return done
        }
        try systemctl("daemon-reload")
        try systemctl("enable", "--now", enable)
        return done + ["enabled and started \(enable) (systemctl status \(enable); journalctl -u \(enable))"]
    }

    /// Stops and disables `disable` (when systemd runs) and removes the files `names` that exist;
    /// returns what was removed (nothing when there was nothing).
    public static func uninstall(_ names: [String], disable: String, from directory: String = directory) throws(ProcessError) -> [String] {
        let paths = names.map { "\(directory)/\($0)" }.filter { FileManager.default.fileExists(atPath: $0) }
        guard !paths.isEmpty else { return [] }
        if systemdIsRunning { try systemctl("disable", "--now", disable) }
        for path in paths {
            do {
                try FileManager.default.removeItem(atPath: path)
            } catch {
                throw ProcessError("cannot remove \(path): \(error.localizedDescription) (run it as root)")
            }
        }
        if systemdIsRunning { try systemctl("daemon-reload") }
        return paths.map { "removed \($0)" }
    }

    static func systemctl(_ arguments: String...) throws(ProcessError) {
        let result = try ChildProcess.run(["systemctl"] + arguments)
        guard result.status == 0 else { throw ProcessError("systemctl \(arguments.joined(separator: " ")) failed: \(result.output)") }
    }
}
