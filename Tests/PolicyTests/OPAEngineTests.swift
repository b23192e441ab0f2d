import Foundation
import Hummingbird
import HummingbirdTesting
import TestSupport
import Testing
import Web

@testable import Policy
import Vocabulary

/// A stand-in for an OPA server on loopback, speaking OPA's REST wire format: `PUT /v1/data/<path>`
/// stores a data document, `POST /v1/data/<path>` with `{"input": …}` answers `{"result": …}`.
/// In `.evaluate` mode it really evaluates the shipped policies (with rego-cpp) against the data it
/// was sent; the other modes fail the way a real server can.
enum FakeOPA {
    enum Mode: Sendable {
        case evaluate
        case status(Int)
        case notJSON
        case noResult
        case notDecision
        case slow(Duration)
    }

    final class Store: @unchecked Sendable {
        private let lock = NSLock()
        private var limits: JSONValue = [:]
        private(set) var requests: [String] = []
        func put(_ value: JSONValue, _ line: String) { lock.withLock { limits = value; requests.append(line) } }
        func note(_ line: String) { lock.withLock { requests.append(line) } }
        var data: JSONValue { lock.withLock { ["swiftdeploy": ["limits": limits]] } }
        var log: [String] { lock.withLock { requests } }
    }

    static func app(mode: Mode, store: Store) -> some ApplicationProtocol {
        let router = Router()
        router.put("/v1/data/swiftdeploy/limits") { request, _ in
            var request = request
            let body = try await request.collectBody(upTo: 1 << 20)
            guard let value = JSONValue(parsing: Data(buffer: body)) else { return Response(status: .badRequest) }
            store.put(value, "PUT /v1/data/swiftdeploy/limits")
            return Response(status: .noContent)
        }
        router.post("/v1/data/swiftdeploy/:policy/decision") { request, context in
            var request = request
            let body = try await request.collectBody(upTo: 1 << 20)
            let policy = context.parameters.get("policy") ?? ""
            store.note("POST /v1/data/swiftdeploy/\(policy)/decision")
            func reply(_ text: String, status: HTTPResponse.Status = .ok) -> Response {
                Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: text)))
            }
            switch mode {
            case .evaluate:
                guard let input = JSONValue(parsing: Data(buffer: body))?["input"], let name = PolicyName(rawValue: policy) else {
                    return reply(#"{"code":"invalid_parameter","message":"bad input"}"#, status: .badRequest)
                }
                let engine = EmbeddedRegoEngine(modules: DefaultPolicies.files.map { PolicyFiles.Module(name: $0.name, text: $0.text) },
                                                data: store.data)
                switch engine.evaluate(name.query, input: input) {
                case .success(let result?): return reply(JSONValue.object(["result": result]).description)
                case .success(nil): return reply("{}")
                case .failure(let failure): return reply(JSONValue.object(["code": "internal_error", "message": .string(failure.description)]).description, status: .internalServerError)
                }
            case .status(let code):
                return reply(#"{"code":"internal_error","message":"storage failure"}"#, status: .init(code: code))
            case .notJSON:
                return Response(status: .ok, headers: [.contentType: "text/html"], body: .init(byteBuffer: ByteBuffer(string: "<html>proxy error</html>")))
            case .noResult:
                return reply("{}")
            case .notDecision:
                return reply(#"{"result":true}"#)
            case .slow(let delay):
                try await Task.sleep(for: delay)
                return reply("{}")
            }
        }
        return Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
    }

    /// Runs a fake OPA for the duration of `body`, handing it the base URL.
    static func with<T: Sendable>(_ mode: Mode, store: Store = Store(), _ body: @Sendable @escaping (String) async throws -> T) async throws -> T {
        try await app(mode: mode, store: store).test(.live) { client in
            try await body("http://127.0.0.1:\(client.port!)")
        }
    }
}

let opaData: JSONValue = ["swiftdeploy": ["limits": limits]]

@Suite struct OPAServerEngine {
    @Test func decidesThroughTheRESTAPIWithLimitsSentAsData() async throws {
        let store = FakeOPA.Store()
        try await FakeOPA.with(.evaluate, store: store) { url in
            let engine = OPAEngine(baseURL: url, timeout: .seconds(5), data: opaData)
            let denied = await engine.decide(.canarySafety, input: ["error_rate": 0.2, "p99_latency_ms": 100, "requests": 100, "window_s": 30])
            #expect(denied.unanswered == nil)
            #expect(!denied.allow)
            #expect(denied.engine == "opa")
            #expect(denied.violations.map(\.message) == ["error_rate 20.0% exceeds maximum 5.0%"])
            let allowed = await engine.decide(.infrastructure, input: healthyHost)
            #expect(allowed.allow)
        }
        #expect(store.log == [
            "PUT /v1/data/swiftdeploy/limits", "POST /v1/data/swiftdeploy/canary_safety/decision",
            "PUT /v1/data/swiftdeploy/limits", "POST /v1/data/swiftdeploy/infrastructure/decision",
        ])
    }

    /// The canary can reach an OPA on its network and PUT looser limits between two decisions (the
    /// attack docs/security.md names): every decision sends the manifest's limits again first, so
    /// the canary's change never judges it.
    @Test func aCanaryThatLoosensItsLimitsIsStillJudgedByTheManifests() async throws {
        let store = FakeOPA.Store()
        try await FakeOPA.with(.evaluate, store: store) { url in
            let engine = OPAEngine(baseURL: url, timeout: .seconds(5), data: opaData)
            let failing: JSONValue = ["error_rate": 0.2, "p99_latency_ms": 100, "requests": 100, "window_s": 30]
            #expect(await !engine.decide(.canarySafety, input: failing).allow)
            // The canary's own request, straight to OPA.
            let loose: JSONValue = ["canary_safety": ["max_error_rate": 1.0, "max_p99_latency_ms": 1e9, "min_requests": 0],
                                    "infrastructure": limits["infrastructure"] ?? [:]]
            let reply = try await HTTP.send(.PUT, url + "/v1/data/swiftdeploy/limits", headers: [("Content-Type", "application/json")],
                                            body: loose.description, timeout: .seconds(5))
            #expect((200..<300).contains(reply.status), "the stand-in took the canary's limits, as an open OPA would")
            let again = await engine.decide(.canarySafety, input: failing)
            #expect(!again.allow && again.violations.map(\.message) == ["error_rate 20.0% exceeds maximum 5.0%"])
        }
    }

    @Test func unreachableServerDenies() async {
        let port = TestSupport.freePort()
        let decision = await OPAEngine(baseURL: "http://127.0.0.1:\(port)", timeout: .seconds(2), data: opaData).decide(.infrastructure, input: healthyHost)
        #expect(!decision.allow)
        #expect(decision.unanswered?.hasPrefix("OPA at http://127.0.0.1:\(port) is unreachable") == true, "\(decision.unanswered ?? "")")
    }

    @Test func slowServerTimesOutAndDenies() async throws {
        let decision = try await FakeOPA.with(.slow(.seconds(4))) { url in
            await OPAEngine(baseURL: url, timeout: .seconds(1), data: opaData).decide(.infrastructure, input: healthyHost)
        }
        #expect(!decision.allow)
        #expect(decision.unanswered?.contains("did not answer POST /v1/data/swiftdeploy/infrastructure/decision within 1s") == true,
                "\(decision.unanswered ?? "")")
        #expect(decision.duration < .milliseconds(3000), "it gave up before the slow server answered")
    }

    @Test(arguments: [
        (FakeOPA.Mode.status(500), "answered POST /v1/data/swiftdeploy/infrastructure/decision with HTTP 500"),
        (.notJSON, "with a body that is not JSON: <html>proxy error</html>"),
        (.noResult, "has no result for /v1/data/swiftdeploy/infrastructure/decision: the decision is undefined"),
        (.notDecision, "data.swiftdeploy.infrastructure.decision is not a decision object"),
    ])
    func eachFailureHasItsOwnMessageAndDenies(mode: FakeOPA.Mode, message: String) async throws {
        let decision = try await FakeOPA.with(mode) { url in
            await OPAEngine(baseURL: url, timeout: .seconds(5), data: opaData).decide(.infrastructure, input: healthyHost)
        }
        #expect(!decision.allow)
        #expect(decision.unanswered?.contains(message) == true, "\(decision.unanswered ?? "")")
    }
}
