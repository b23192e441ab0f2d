import Foundation
import Detection
import GuardStorage
import Testing
import Vocabulary

@testable import GuardService

@Suite struct AuditLogFile {
    let directory = NSTemporaryDirectory() + "swiftdeploy-audit-\(UUID().uuidString.prefix(8))"

    @Test func appendsCreatesPrivateAndNeverFollowsALink() throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let log = AuditLog(path: "\(directory)/guard-audit.log")
        try log.append(["one"])
        try log.append(["two", "three"])
        #expect(try String(contentsOfFile: log.path, encoding: .utf8) == "one\ntwo\nthree\n")
        #expect(try FileManager.default.attributesOfItem(atPath: log.path)[.posixPermissions] as? Int == 0o600)
        // Swapped for a link to another file: refused, and the other file is untouched.
        let victim = "\(directory)/victim"
        try "precious\n".write(toFile: victim, atomically: true, encoding: .utf8)
        try FileManager.default.removeItem(atPath: log.path)
        try FileManager.default.createSymbolicLink(atPath: log.path, withDestinationPath: victim)
        #expect(throws: AuditLog.Failure.self) { try log.append(["injected"]) }
        // A second name of the victim (a hard link): refused too.
        try FileManager.default.removeItem(atPath: log.path)
        try FileManager.default.linkItem(atPath: victim, toPath: log.path)
        let failure = #expect(throws: AuditLog.Failure.self) { try log.append(["injected"]) }
        #expect(failure?.reason.contains("has 2 names") == true)
        #expect(try String(contentsOfFile: victim, encoding: .utf8) == "precious\n")
    }

    @Test func malformedSamplesArePublishedAsTheirShapeOnly() {
        #expect(GuardDaemon.redacted("root:$6$saltsalt$hash:19000:0:99999:7:::") == "aaaa:$0$aaaaaaaa$aaaa:00000:0:00000:0:::")
        #expect(GuardDaemon.redacted(String(repeating: "x", count: 500)).count == 120)
    }
}

@Suite struct WebhookQueue {
    /// A dead endpoint during a ban storm: the queue keeps the newest 1,000, counts what it dropped.
    @Test func aBanStormNeverGrowsTheQueuePastItsBound() {
        // Port 9 on loopback (discard) is closed here: every send fails and waits in its backoff.
        let notifier = WebhookNotifier(url: "http://127.0.0.1:9/", style: .json, maxAttempts: 1, firstBackoff: .seconds(60), timeout: .seconds(60))
        for index in 0..<1500 {
            notifier.notify(GuardDecision(at: index, action: .ban, ip: IPAddress(v4: UInt32(index)), duration: 600, condition: "flood",
                                          rate: 1, baseline: 1))
        }
        // At most one batch of 50 left the queue before it filled.
        #expect((450...500).contains(notifier.report.dropped), "dropped \(notifier.report.dropped)")
    }
}

@Suite struct GuardStoreMode {
    let directory = NSTemporaryDirectory() + "swiftdeploy-store-\(UUID().uuidString.prefix(8))"
    var folder: String { GuardStore.directory(stateDirectory: directory) }

    func mode(_ path: String) throws -> Int? { try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int }

    @Test func theStoreIsRootsOnly() throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try GuardStore(path: GuardStore.path(stateDirectory: directory))
        #expect(try mode(store.path) == 0o600)
        #expect(try mode(folder) == 0o700)
    }

    @Test func aWideFolderOfTheGuardsOwnIsTightened() throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o777])
        _ = try GuardStore(path: GuardStore.path(stateDirectory: directory))
        #expect(try mode(folder) == 0o700)
    }

    /// What the deploy user (or the app) could put in the project's state directory in place of the
    /// guard's folder or its files: each is refused with what to do, and nothing outside is touched.
    @Test func aFolderOrFileSomeoneElseControlsIsRefused() throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let elsewhere = "\(directory)/elsewhere"
        try FileManager.default.createDirectory(atPath: elsewhere, withIntermediateDirectories: true)
        let victim = "\(directory)/victim"
        try "precious\n".write(toFile: victim, atomically: true, encoding: .utf8)
        let store = GuardStore.path(stateDirectory: directory)
        let plants: [(String, () throws -> Void)] = [
            ("is not a directory", { try FileManager.default.createSymbolicLink(atPath: folder, withDestinationPath: elsewhere) }),
            ("belongs to uid 65534", {
                try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: false)
                #expect(chown(folder, 65534, 65534) == 0)
            }),
            ("is not a regular file", {
                try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: false)
                try FileManager.default.createSymbolicLink(atPath: store, withDestinationPath: victim)
            }),
            ("has 2 names", {
                try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: false)
                try FileManager.default.linkItem(atPath: victim, toPath: store)
            }),
        ]
        for (problem, plant) in plants {
            try plant()
            let error = #expect(throws: GuardStoreError.self) { _ = try GuardStore(path: store) }
            #expect(error?.problem.contains(problem) == true, "\(error?.description ?? "no error")")
            #expect(error?.fix.contains("remove it") == true)
            try FileManager.default.removeItem(atPath: folder)
        }
        #expect(try String(contentsOfFile: victim, encoding: .utf8) == "precious\n")
        #expect(try FileManager.default.contentsOfDirectory(atPath: elsewhere).isEmpty)
    }
}
