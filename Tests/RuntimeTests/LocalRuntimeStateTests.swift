import Foundation
import TestSupport
import Testing

@testable import Runtime
import Spawn

/// What the local runtime reads back from `stack.json`, and the port probe it starts instances with.
@Suite struct LocalRuntimeState {
    @Test func staleRecordsAreForgotten() async throws {
        let directory = NSTemporaryDirectory() + "swiftdeploy-stale-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let pid = try ChildProcess.spawn(["sleep", "30"], logFile: "\(directory)/sleep.log")
        let spec = TrackSpec(command: ["sleep", "30"], image: nil, ports: [1], version: "1", env: [:])
        var state = StackState()
        let sleeping = Instance.process(pid: pid, command: ["sleep", "30"])
        state.tracks[.stable] = .init(instance: sleeping, port: 1, version: "1", startedAt: Date(timeIntervalSince1970: 1_800_000_000), log: "", spec: spec)
        // Our own pid is alive but is not `nginx`: a recycled pid must not be mistaken for ours.
        state.nginx = .process(pid: getpid(), command: ["nginx"])
        state.tracks[.canary] = .init(instance: .process(pid: getpid(), command: ["swiftdeploy-demo"]), port: 2, version: "2",
                                      startedAt: Date(timeIntervalSince1970: 1_800_000_000), log: "", spec: spec)
        try state.save(to: directory)
        var loaded = try StackState.load(from: directory)
        #expect(loaded == state)
        #expect(loaded.forgetStale(LocalRuntime.isRunning) == [.canary])
        #expect(loaded.tracks[.stable]?.instance == sleeping)
        #expect(loaded.nginx == nil)
        // A container is never the local runtime's.
        #expect(!LocalRuntime.isRunning(.container(id: "3f2a")))
        await ChildProcess.stop(pid, grace: .seconds(2))
        #expect(loaded.forgetStale(LocalRuntime.isRunning) == [.stable])
    }

    @Test func portProbeSeesAListener() throws {
        let listener = TestSupport.listenOnLoopback()
        #expect(!PortProbe.isFree(listener.port))
        close(listener.fd)
        #expect(PortProbe.isFree(listener.port))
    }
}
