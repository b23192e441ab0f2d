import Foundation
import Logging
import Spawn
import TestSupport
import Testing

@testable import GuardService

#if canImport(Glibc)
import Glibc
#endif

struct SystemdNotifyProtocol {
    @Test func speaksToTheSocketInNotifySocketAndHalvesTheWatchdog() throws {
        let listener = try DatagramListener()
        let notify = SystemdNotify(environment: ["NOTIFY_SOCKET": listener.path, "WATCHDOG_USEC": "3000000"])
        #expect(notify.watchdogInterval == .milliseconds(1500))
        notify.ready(status: "following access.log")
        #expect(listener.receive().map { String(decoding: $0, as: UTF8.self) } == "READY=1\nSTATUS=following access.log")
        notify.alive()
        #expect(listener.receive().map { String(decoding: $0, as: UTF8.self) } == "WATCHDOG=1")
        notify.reloading()
        let reloading = listener.receive().map { String(decoding: $0, as: UTF8.self) } ?? ""
        #expect(reloading.hasPrefix("RELOADING=1\nMONOTONIC_USEC="), "\(reloading)")
        notify.stopping()
        #expect(listener.receive().map { String(decoding: $0, as: UTF8.self) } == "STOPPING=1")
    }

    @Test func withoutSystemdNothingIsSentAndAWatchdogForAnotherProcessIsIgnored() {
        #expect(!SystemdNotify(environment: [:]).isActive)
        let other = SystemdNotify(environment: ["NOTIFY_SOCKET": "/nonexistent", "WATCHDOG_USEC": "1000000", "WATCHDOG_PID": "1"])
        #expect(other.watchdogInterval == nil)
        other.alive()  // a socket nobody listens on: nothing happens
    }
}

struct JournalNativeProtocol {
    /// Fields as the journal reads them: `KEY=value` lines, or `KEY`, a 64-bit length and the bytes.
    static func decode(_ bytes: [UInt8]) -> [String: String] {
        var fields: [String: String] = [:]
        var index = 0
        while index < bytes.count {
            let end = bytes[index...].firstIndex { $0 == UInt8(ascii: "=") || $0 == UInt8(ascii: "\n") } ?? bytes.count
            let key = String(decoding: bytes[index..<end], as: UTF8.self)
            if bytes[end] == UInt8(ascii: "=") {
                let stop = bytes[(end + 1)...].firstIndex(of: UInt8(ascii: "\n")) ?? bytes.count
                fields[key] = String(decoding: bytes[(end + 1)..<stop], as: UTF8.self)
                index = stop + 1
            } else {
                let length = bytes[(end + 1)..<(end + 9)].reversed().reduce(0) { $0 << 8 | Int($1) }
                fields[key] = String(decoding: bytes[(end + 9)..<(end + 9 + length)], as: UTF8.self)
                index = end + 9 + length + 1
            }
        }
        return fields
    }

    @Test func recordsArriveAsFieldsWithPriorityAndMetadata() throws {
        let listener = try DatagramListener()
        var logger = Logger(label: "swiftdeploy.guard") { JournalLogHandler(label: $0, socketPath: listener.path) }
        logger[metadataKey: "edge"] = "fra-1"
        logger.notice("[2026-12-02T12:00:07Z] BAN ip=203.0.113.9", metadata: ["action": "ban", "ip": "203.0.113.9", "duration_s": "600",
                                                                              "reason": "first line\nsecond line"])
        let fields = Self.decode(try #require(listener.receive()))
        #expect(fields["MESSAGE"] == "[2026-12-02T12:00:07Z] BAN ip=203.0.113.9")
        #expect(fields["PRIORITY"] == "5")
        #expect(fields["SYSLOG_IDENTIFIER"] == "swiftdeploy")
        #expect(fields["SWIFTDEPLOY_ACTION"] == "ban" && fields["SWIFTDEPLOY_IP"] == "203.0.113.9" && fields["SWIFTDEPLOY_DURATION_S"] == "600")
        #expect(fields["SWIFTDEPLOY_EDGE"] == "fra-1", "the logger's own metadata too")
        #expect(fields["SWIFTDEPLOY_REASON"] == "first line\nsecond line", "a value with a newline survives")
        logger.debug("not at the default level")
        #expect(listener.receive() == nil)
    }

    @Test func journalStreamMatchesOnlyTheRealStandardOutput() throws {
        var status = stat()
        #expect(fstat(STDOUT_FILENO, &status) == 0)
        #expect(JournalLogHandler.outputIsJournal(environment: ["JOURNAL_STREAM": "\(status.st_dev):\(status.st_ino)"]))
        #expect(!JournalLogHandler.outputIsJournal(environment: ["JOURNAL_STREAM": "\(status.st_dev):\(status.st_ino + 1)"]))
        #expect(!JournalLogHandler.outputIsJournal(environment: [:]))
    }
}

/// The unit `guard install` writes and the package ships, checked by systemd's own tools (no
/// systemd runs as PID 1 here: both work offline).
struct GuardServiceUnit {
    let directory = NSTemporaryDirectory() + "swiftdeploy-unit-\(UUID().uuidString.prefix(8))"

    func written() throws -> String {
        let unit = GuardUnit(binary: "/bin/true", manifest: "/etc/swiftdeploy/swiftdeploy.yaml", stateDirectory: "/var/lib/swiftdeploy")
        let done = try unit.install(into: directory, start: false)
        #expect(done.first == "wrote \(directory)/\(GuardUnit.name)")
        return "\(directory)/\(GuardUnit.name)"
    }

    @Test func verifiesAndItsExposureIsAtMostTwo() throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = try written()
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text.contains("ExecStart=/bin/true guard run -f /etc/swiftdeploy/swiftdeploy.yaml --state-dir /var/lib/swiftdeploy"))
        #expect(text.contains("ReadWritePaths=/var/lib/swiftdeploy") && text.contains("Type=notify") && text.contains("ExecReload=/bin/kill -HUP $MAINPID"))
        let verify = try ChildProcess.run(["systemd-analyze", "verify", "--man=no", path])
        #expect(verify.status == 0, "systemd-analyze verify: \(verify.output)")
        let security = try ChildProcess.run(["systemd-analyze", "security", "--offline=true", "--no-pager", path])
        let overall = security.output.split(separator: "\n").first { $0.contains("Overall exposure level") } ?? ""
        let score = overall.split(separator: ":").last?.split(separator: " ").first.flatMap { Double($0) }
        #expect(score.map { $0 <= 2.0 } == true, "exposure: \(overall)")
        #expect(try GuardUnit.uninstall(from: directory) == "removed \(path)")
        #expect(!FileManager.default.fileExists(atPath: path))
        #expect(try GuardUnit.uninstall(from: directory) == nil, "nothing to remove the second time")
    }

    @Test func refusesPathsTheServiceCannotSee() {
        for (manifest, state) in [("swiftdeploy.yaml", "/var/lib/swiftdeploy"), ("/home/ops/site/swiftdeploy.yaml", "/var/lib/swiftdeploy"),
                                  ("/etc/swiftdeploy/swiftdeploy.yaml", "/root/.swiftdeploy")] {
            let unit = GuardUnit(binary: "/usr/bin/swiftdeploy", manifest: manifest, stateDirectory: state)
            #expect(throws: GuardCommandError.self) { try unit.install(into: directory, start: false) }
        }
        #expect(!FileManager.default.fileExists(atPath: directory), "nothing written")
    }
}
