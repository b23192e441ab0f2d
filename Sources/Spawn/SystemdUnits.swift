import Foundation

/// Unit files the administrator's way (`/etc/systemd/system`): written, then, when systemd runs
/// this machine, loaded and enabled; or disabled and removed. Shared by every unit SwiftDeploy
/// installs (the guard's service, the certificate watch).
public enum SystemdUnits {
    /// Where units written by the administrator live.
    public static let directory = "/etc/systemd/system"

    /// Whether systemd runs this machine (PID 1), so `systemctl` can be asked.
    public static var systemdIsRunning: Bool { FileManager.default.fileExists(atPath: "/run/systemd/system") }

    /// A unit template with its `@NAME@` placeholders filled. A unit file is line-oriented and
    /// splits values at spaces: a newline in a path would add directives of the path's author, a
    /// quote or space would change the command, so such values are refused; `%` is written `%%`
    /// (systemd's specifiers).
    public static func fill(_ template: [UInt8], _ values: [(placeholder: String, value: String)]) throws(ProcessError) -> String {
        var text = String(decoding: template, as: UTF8.self)
        for (placeholder, value) in values {
            if let bad = value.unicodeScalars.first(where: { $0.properties.generalCategory == .control || " \"'\\;".unicodeScalars.contains($0) }) {
                throw ProcessError("\(value.debugDescription) cannot go into a systemd unit: it holds \(bad.escaped(asASCII: true).debugDescription) "
                    + "(units split values at spaces and lines; a path there must have no spaces, quotes, backslashes, semicolons or control characters); move or rename it")
            }
            text = text.replacingOccurrences(of: "@\(placeholder)@", with: value.replacingOccurrences(of: "%", with: "%%"))
        }
        return text
    }

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
