import Foundation
import Hummingbird
import HummingbirdTesting
import Telemetry
import TestSupport
import Testing

@testable import DemoService
import Vocabulary

private func object(_ response: TestResponse) throws -> [String: Any] {
    try #require(try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any])
}

private func metrics(_ client: some TestClientProtocol) async throws -> PrometheusText {
    try await client.execute(uri: "/metrics", method: .get) { response in
        #expect(response.status == .ok)
        #expect(response.headers[.contentType]?.hasPrefix("text/plain") == true)
        return try PrometheusText(parsing: String(buffer: response.body))
    }
}

private func chaos(_ client: some TestClientProtocol, _ body: String) async throws -> TestResponse {
    try await client.execute(uri: "/chaos", method: .post, body: ByteBuffer(string: body))
}

@Suite struct DemoEndpoints {
    @Test func rootAnswersJSONWithModeHeader() async throws {
        let app = DemoApplication.make(config: DemoConfig(mode: .stable, version: "1.2.3"))
        try await app.test(.router) { client in
            try await client.execute(uri: "/", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.xMode] == "stable")
                #expect(response.headers[.contentType] == "application/json")
                let body = try object(response)
                #expect(body["mode"] as? String == "stable")
                #expect(body["version"] as? String == "1.2.3")
                #expect((body["message"] as? String)?.isEmpty == false)
                let stamp = try #require(body["timestamp"] as? String)
                #expect(try Date(stamp, strategy: .iso8601) <= Date())
            }
        }
    }

    @Test func healthzReportsStatusUptimeModeVersion() async throws {
        let app = DemoApplication.make(config: DemoConfig(mode: .canary, version: "2.0.0"))
        try await app.test(.router) { client in
            try await client.execute(uri: "/healthz", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.xMode] == "canary")
                let body = try object(response)
                #expect(body["status"] as? String == "ok")
                #expect(body["mode"] as? String == "canary")
                #expect(body["version"] as? String == "2.0.0")
                let uptime = try #require(body["uptime_seconds"] as? Double)
                #expect(uptime >= 0 && uptime < 60)
            }
        }
    }

    @Test func everyResponseCarriesModeEvenNotFound() async throws {
        let app = DemoApplication.make(config: DemoConfig(mode: .canary))
        try await app.test(.router) { client in
            try await client.execute(uri: "/nope", method: .get) { response in
                #expect(response.status == .notFound)
                #expect(response.headers[.xMode] == "canary")
            }
        }
    }

    @Test func metricsCountApplicationRequestsOnly() async throws {
        let app = DemoApplication.make(config: DemoConfig(mode: .canary))
        try await app.test(.router) { client in
            for _ in 0..<3 { try await client.execute(uri: "/", method: .get) }
            for _ in 0..<2 { try await client.execute(uri: "/healthz", method: .get) }
            _ = try await metrics(client)
            let text = try await metrics(client)
            #expect(text.value("http_requests_total", ["method": "GET", "path": "/", "status_code": "200"]) == 3)
            #expect(text.samples.filter { $0.name == "http_requests_total" }.count == 1)
            #expect(text.value("http_request_duration_seconds_count") == 3)
            #expect(text.value("http_request_duration_seconds_bucket", ["le": "+Inf"]) == 3)
            #expect(text.value("http_request_duration_seconds_bucket", ["le": "10.0"]) == 3)
            #expect(text.value("app_mode") == 1)
            #expect(text.value("chaos_active") == 0)
            let uptime = try #require(text.value("app_uptime_seconds"))
            #expect(uptime >= 0)
            // Buckets are cumulative and non-decreasing.
            let buckets = text.samples.filter { $0.name == "http_request_duration_seconds_bucket" }.map(\.value)
            #expect(buckets == buckets.sorted())
        }
    }

    /// The shipped Grafana dashboard's app panels ask for series the demo's /metrics has.
    @Test func grafanaDashboardQueriesTheAppsSeries() async throws {
        let dashboard = try GrafanaDashboard.load()
        let app = DemoApplication.make(config: DemoConfig(mode: .canary))
        try await app.test(.router) { client in
            try await client.execute(uri: "/", method: .get)
            let text = try await metrics(client)
            let queries = dashboard.queries.filter { !GrafanaDashboard.series(in: $0.target.expr, prefixes: ["http_"]).isEmpty }
            #expect(queries.count >= 2)
            for (panel, target) in queries {
                for name in GrafanaDashboard.series(in: target.expr, prefixes: ["http_"]) {
                    #expect(!text.matching(name).isEmpty, "\(panel): \(name) is not in the demo's /metrics")
                }
                for label in GrafanaDashboard.labels(in: target.legendFormat) where label != "le" {
                    #expect(text.samples.contains { $0.name.hasPrefix("http_") && $0.labels[label] != nil }, "\(panel): no series has \(label)")
                }
            }
        }
    }

    @Test func stableRefusesChaosWith403() async throws {
        let app = DemoApplication.make(config: DemoConfig(mode: .stable))
        try await app.test(.router) { client in
            let response = try await chaos(client, #"{"mode":"error","rate":0.5}"#)
            #expect(response.status == .forbidden)
            #expect(response.headers[.xMode] == "stable")
            #expect((try object(response)["error"] as? String)?.contains("canary") == true)
            #expect(try await metrics(client).value("chaos_active") == 0)
        }
    }

    @Test(arguments: [
        ("not json", "JSON object"),
        (#"[1,2]"#, "JSON object"),
        (#"{"rate":0.5}"#, "\"mode\""),
        (#"{"mode":"explode"}"#, "unknown mode"),
        (#"{"mode":"error"}"#, "\"rate\""),
        (#"{"mode":"error","rate":1.5}"#, "0.0 to 1.0"),
        (#"{"mode":"error","rate":true}"#, "\"rate\""),
        (#"{"mode":"slow","duration":"x"}"#, "\"duration\""),
        (#"{"mode":"slow","duration":-1}"#, "\"duration\""),
    ])
    func malformedChaosBodyGets400(body: String, mentions: String) async throws {
        let app = DemoApplication.make(config: DemoConfig(mode: .canary))
        try await app.test(.router) { client in
            let response = try await chaos(client, body)
            #expect(response.status == .badRequest)
            let message = try #require(try object(response)["error"] as? String)
            #expect(message.contains(mentions), "\(message)")
        }
    }

    @Test func errorChaosFailsAboutTheRequestedShare() async throws {
        let rate = 0.3
        let requests = 400
        let app = DemoApplication.make(config: DemoConfig(mode: .canary), random: SeededRandom(seed: 42))
        try await app.test(.router) { client in
            #expect(try await chaos(client, #"{"mode":"error","rate":0.3}"#).status == .ok)
            var failures = 0
            for _ in 0..<requests {
                try await client.execute(uri: "/", method: .get) { response in
                    #expect(response.headers[.xMode] == "canary")
                    if response.status == .internalServerError { failures += 1 } else { #expect(response.status == .ok) }
                }
            }
            // Within 4 standard deviations of the binomial mean.
            let sigma = (Double(requests) * rate * (1 - rate)).squareRoot()
            #expect(abs(Double(failures) - Double(requests) * rate) < 4 * sigma, "failures \(failures)")
            let text = try await metrics(client)
            #expect(text.value("chaos_active") == 2)
            #expect(text.value("http_requests_total", ["path": "/", "status_code": "500"]) == Double(failures))
            #expect(text.value("http_requests_total", ["path": "/", "status_code": "200"]) == Double(requests - failures))
            // Health is never failed by chaos.
            #expect(try await client.execute(uri: "/healthz", method: .get).status == .ok)
            #expect(try await chaos(client, #"{"mode":"recover"}"#).status == .ok)
            for _ in 0..<20 { #expect(try await client.execute(uri: "/", method: .get).status == .ok) }
            #expect(try await metrics(client).value("chaos_active") == 0)
        }
    }

    @Test func slowChaosDelaysApplicationRequests() async throws {
        let app = DemoApplication.make(config: DemoConfig(mode: .canary))
        try await app.test(.router) { client in
            #expect(try await chaos(client, #"{"mode":"slow","duration":0.3}"#).status == .ok)
            let started = ContinuousClock.now
            #expect(try await client.execute(uri: "/", method: .get).status == .ok)
            let elapsed = ContinuousClock.now - started
            #expect(elapsed >= .milliseconds(300))
            let text = try await metrics(client)
            #expect(text.value("chaos_active") == 1)
            // Two counted requests: POST /chaos and the slowed GET /, which took at least 0.3 s and so
            // is never in a bucket below 0.3 s, whatever else the machine is doing.
            #expect(text.value("http_request_duration_seconds_count") == 2)
            #expect(try #require(text.value("http_request_duration_seconds_bucket", ["le": "0.25"])) <= 1)
            #expect(text.value("http_request_duration_seconds_bucket", ["le": "+Inf"]) == 2)
        }
    }
}

/// The image's health check (`swiftdeploy-demo --health-check`) against a live instance.
@Suite struct DemoHealthCheck {
    @Test func answersTrueOnlyForA200() async throws {
        let app = DemoApplication.make(config: DemoConfig(port: 0))
        try await app.test(.live) { client in
            let port = try #require(client.port)
            #expect(await probe(port: port, path: "/healthz"))
            #expect(!(await probe(port: port, path: "/no-such-page")), "a 404 is not healthy")
        }
    }

    /// The probe blocks (it is a health-check program's whole job): on a thread of its own, so it
    /// never holds one of Swift's few shared threads, which the live server's handlers need.
    func probe(port: Int, path: String) async -> Bool {
        await withCheckedContinuation { continuation in
            Thread.detachNewThread { continuation.resume(returning: HealthProbe.isHealthy(port: port, path: path, timeout: 10)) }
        }
    }

    @Test func nothingListeningIsUnhealthy() {
        // Port 1 on loopback: nothing of ours listens there, and the probe must not wait.
        #expect(!HealthProbe.isHealthy(port: 1, path: "/healthz", timeout: 1))
    }
}
