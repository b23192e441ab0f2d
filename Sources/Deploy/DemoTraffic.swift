import AsyncHTTPClient
import Foundation
import GuardEvaluation
import NIOCore
import Vocabulary

/// `swiftdeploy demo traffic`: a scenario's labelled clients sent through nginx in real time, each
/// with its own address in X-Forwarded-For (the example manifest trusts the loopback proxy), so the
/// guard and its dashboard have a site to learn and attackers to ban. Bounded by the scenario's
/// duration (or `limit`); at most 64 requests in flight.
public struct DemoTrafficUseCase: Sendable {
    public let scenario: Scenario
    public let baseURL: String
    public let console: any Console

    public init(scenario: Scenario, baseURL: String, console: any Console = TerminalConsole()) {
        self.scenario = scenario
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.console = console
    }

    public struct Figures: Sendable {
        public var sent = 0
        public var failed = 0
        public var byStatus: [Int: Int] = [:]
    }

    public func run(limit: Double? = nil) async throws -> Figures {
        var generator = TrafficGenerator(scenario: scenario)
        let start = ContinuousClock.now
        let length = min(limit ?? scenario.duration, scenario.duration)
        let attacks = scenario.classes.filter(\.attack).map { "\($0.name) at +\(Int($0.start))s" }.joined(separator: ", ")
        console.say("demo traffic: \(scenario.classes.filter { !$0.attack }.count) kinds of ordinary clients for \(Int(length)) s through \(baseURL); attackers: \(attacks)")
        var figures = Figures()
        try await withThrowingTaskGroup(of: Int?.self) { group in
            var inFlight = 0
            func collect(_ status: Int?) {
                inFlight -= 1
                if let status { figures.byStatus[status, default: 0] += 1 } else { figures.failed += 1 }
            }
            while let request = generator.next() {
                let offset = request.time - Double(scenario.start)
                guard offset < length else { break }
                try await Task.sleep(until: start + .milliseconds(Int64(offset * 1000)), clock: .continuous)
                while inFlight >= 64, let status = try await group.next() { collect(status) }
                inFlight += 1
                figures.sent += 1
                group.addTask { await send(request) }
            }
            while let status = try await group.next() { collect(status) }
        }
        let statuses = figures.byStatus.sorted { $0.key < $1.key }.map { "\($0.key)×\($0.value)" }.joined(separator: " ")
        console.say("demo traffic: sent \(figures.sent) requests (\(statuses)), \(figures.failed) failed to connect")
        return figures
    }

    /// One request; its status, or nil when nginx could not be reached (a banned address's requests
    /// still reach nginx here: they all come from loopback).
    private func send(_ generated: GeneratedRequest) async -> Int? {
        var request = HTTPClientRequest(url: baseURL + generated.path)
        request.method = generated.method == "POST" ? .POST : .GET
        request.headers.add(name: "X-Forwarded-For", value: generated.address)
        if !generated.agent.isEmpty { request.headers.add(name: "User-Agent", value: generated.agent) }
        if generated.method == "POST" {
            request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
            request.body = .bytes(ByteBuffer(string: "user=admin&password=guess"))
        }
        do {
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(5))
            _ = try? await response.body.collect(upTo: 1 << 20)
            return Int(response.status.code)
        } catch {
            return nil
        }
    }
}
