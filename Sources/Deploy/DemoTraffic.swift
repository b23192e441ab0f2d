import AsyncHTTPClient
import Foundation
import TrafficScenarios
import NIOHTTP1
import Vocabulary
import Web

/// `swiftdeploy demo traffic`: a scenario's labelled clients sent through nginx in real time, each
/// with its own address in X-Forwarded-For (the example manifest trusts the loopback proxy), so the
/// guard and its dashboard have a site to learn and attackers to ban. Bounded by the scenario's
/// duration (or `limit`); at most 64 requests in flight.
public struct DemoTrafficUseCase: Sendable {
    public let scenario: Scenario
    public let baseURL: String
    public let console: any Console
    /// Over HTTPS, the client that trusts the edge's certificate.
    public let client: HTTPClient

    public init(scenario: Scenario, baseURL: String, client: HTTPClient = .shared, console: any Console = TerminalConsole()) {
        self.scenario = scenario
        self.client = client
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
        let post = generated.method == "POST"
        let headers = [("X-Forwarded-For", generated.address)] + (generated.agent.isEmpty ? [] : [("User-Agent", generated.agent)])
            + (post ? [("Content-Type", "application/x-www-form-urlencoded")] : [])
        return try? await HTTP.send(post ? .POST : .GET, baseURL + generated.path, headers: headers,
                                    body: post ? "user=admin&password=guess" : nil, timeout: .seconds(5), limit: 1 << 20, client: client).status
    }
}
