import Foundation
import Hummingbird
import Render
import HummingbirdTesting
import TestSupport
import Testing
import Web

@testable import Policy
import Vocabulary

/// An OPA that fails the way a real server can (the real engine behind scripts/opa-server answers
/// every other test): it holds no policies and accepts uploads, then answers the decision badly.
enum BrokenOPA {
    enum Mode: Sendable {
        case status(Int)
        case notJSON
        case noResult
        case notDecision
        case slow(Duration)
    }

    static func app(mode: Mode) -> some ApplicationProtocol {
        let router = Router()
        @Sendable func reply(_ text: String, status: HTTPResponse.Status = .ok) -> Response {
            Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: text)))
        }
        router.get("/v1/policies") { _, _ in reply(#"{"result":[]}"#) }
        router.put("/v1/policies/**") { _, _ in reply("{}") }
        router.post("/v1/data/swiftdeploy/:policy/decision") { _, _ in
            switch mode {
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

    /// Runs a broken OPA for the duration of `body`, handing it the base URL.
    static func with<T: Sendable>(_ mode: Mode, _ body: @Sendable @escaping (String) async throws -> T) async throws -> T {
        try await app(mode: mode).test(.live) { client in
            try await body("http://127.0.0.1:\(client.port!)")
        }
    }
}

func opa(_ url: String, token: String? = nil, timeout: Duration = .seconds(5), modules: [PolicyFiles.Module] = shippedDecisions) -> OPAEngine {
    OPAEngine(baseURL: url, token: token, timeout: timeout, modules: modules, limits: limits)
}

let failingCanary: JSONValue = ["error_rate": 0.2, "p99_latency_ms": 100, "requests": 100, "window_s": 30]

/// The OPA engine against the real OPA (scripts/opa-server on OPA's Go library).
@Suite(.serialized) struct OPAServerEngine {
    static let token = "opa-test-token-0123456789"

    @Test func decidesThroughTheRESTAPIWithItsOwnPoliciesAndLimitsInTheInput() async throws {
        try await OPAServer.with(token: Self.token) { url in
            let engine = opa(url, token: Self.token)
            let denied = await engine.decide(.canarySafety, input: failingCanary)
            #expect(denied.unanswered == nil)
            #expect(!denied.allow)
            #expect(denied.engine == "opa")
            #expect(denied.violations.map(\.message) == ["error_rate 20% exceeds maximum 5%"])
            #expect(await engine.decide(.infrastructure, input: healthyHost).allow)
            // The server holds exactly our policies, under our ids.
            let held = try await HTTP.send(.GET, url + "/v1/policies", headers: [("Authorization", "Bearer \(Self.token)")], timeout: .seconds(5))
            let ids = JSONValue(parsing: Data(held.text.utf8))?["result"]?.array?.compactMap { $0["id"]?.string }
            #expect(ids == ["swiftdeploy/canary_safety.rego", "swiftdeploy/infrastructure.rego"])
        }
    }

    /// What the judged canary could do to an OPA it reaches: loosen shared limits, replace our policy,
    /// add a module of its own to our package. Limits travel in the input, our policy is uploaded
    /// again before each decision, and a foreign module makes the engine refuse to decide.
    @Test func aCanaryCannotChangeItsOwnVerdict() async throws {
        try await OPAServer.with { url in
            let engine = opa(url)
            #expect(await !engine.decide(.canarySafety, input: failingCanary).allow)
            func put(_ path: String, _ body: String) async throws -> Int {
                try await HTTP.send(.PUT, url + path, headers: [("Content-Type", "text/plain")], body: body, timeout: .seconds(5)).status
            }
            let loose = #"{"canary_safety": {"max_error_rate": 1, "max_p99_latency_ms": 1e9, "min_requests": 0}}"#
            let loosened = try await put("/v1/data/swiftdeploy/limits", loose)
            let replaced = try await put("/v1/policies/swiftdeploy/canary_safety.rego",
                                         "package swiftdeploy.canary_safety\nimport rego.v1\ndecision := {\"allow\": true, \"violations\": []}\n")
            #expect(loosened == 204 && replaced == 200, "an open OPA takes what the canary sends")
            let again = await engine.decide(.canarySafety, input: failingCanary)
            #expect(!again.allow && again.violations.map(\.message) == ["error_rate 20% exceeds maximum 5%"])
            let joined = try await put("/v1/policies/canary.rego", "package swiftdeploy.canary_safety\nimport rego.v1\nextra_violations contains v if { false; v := {} }\n")
            #expect(joined == 200)
            let refused = await engine.decide(.canarySafety, input: failingCanary)
            #expect(!refused.allow)
            #expect(refused.unanswered?.contains("holds policy canary.rego, not ours, in package swiftdeploy.canary_safety") == true,
                    "\(refused.unanswered ?? "")")
        }
    }

    @Test func aServerThatWantsATokenIsAskedWithIt() async throws {
        try await OPAServer.with(token: Self.token) { url in
            let without = await opa(url).decide(.infrastructure, input: healthyHost)
            #expect(!without.allow)
            #expect(without.unanswered?.contains("HTTP 401): it wants a token: set policy.opa_token") == true, "\(without.unanswered ?? "")")
            let wrong = await opa(url, token: "not-the-token").decide(.infrastructure, input: healthyHost)
            #expect(wrong.unanswered?.contains("check policy.opa_token") == true)
            // Nobody without the token changes anything either.
            let put = try await HTTP.send(.PUT, url + "/v1/policies/x", body: "package x", timeout: .seconds(5))
            #expect(put.status == 401)
        }
    }

    /// The generated compose sidecar's own authorization (`opa-authz.rego`), on the real OPA: only
    /// the token in OPA_TOKEN gets in; no token set lets nobody in; health needs none. The engine
    /// as a library has no process environment, so `opa.runtime()` is replaced with `with`.
    @Test func theSidecarsAuthorizationAdmitsOnlyTheToken() async throws {
        let cases: [(rule: String, identity: String, token: String, path: String, allowed: Bool)] = [
            ("holder", "tok-0123456789", "tok-0123456789", #"["v1", "data"]"#, true),
            ("stranger", "someone-else", "tok-0123456789", #"["v1", "policies"]"#, false),
            ("empty_identity", "", "tok-0123456789", #"["v1", "data"]"#, false),
            ("no_token_set", "", "", #"["v1", "data"]"#, false),
            ("health", "", "tok-0123456789", #"["health"]"#, true),
        ]
        let probe = "package authz_probe\nimport rego.v1\n" + cases.map { item in
            #"\#(item.rule) := x if { x := data.system.authz.allow with input as {"identity": "\#(item.identity)", "path": \#(item.path)} with opa.runtime as {"env": {"OPA_TOKEN": "\#(item.token)"}} }"#
        }.joined(separator: "\n")
        try await OPAServer.with { url in
            for (id, text) in [("authz", ComposeFile.opaAuthz), ("probe", probe)] {
                let uploaded = try await HTTP.send(.PUT, url + "/v1/policies/\(id)", body: text, timeout: .seconds(5))
                #expect(uploaded.status == 200, "\(id): \(uploaded.text)")
            }
            for item in cases {
                let reply = try await HTTP.send(.GET, url + "/v1/data/authz_probe/\(item.rule)", timeout: .seconds(5))
                #expect(JSONValue(parsing: Data(reply.text.utf8))?["result"] == .bool(item.allowed), "\(item.rule): \(reply.text)")
            }
        }
    }

    @Test func aPolicyOPARefusesIsAnAnswerlessDeny() async throws {
        try await OPAServer.with { url in
            let broken = PolicyFiles.Module(name: "broken.rego", text: "package swiftdeploy.infrastructure\nimport rego.v1\ndecision := {\n")
            let decision = await opa(url, modules: [broken]).decide(.infrastructure, input: healthyHost)
            #expect(!decision.allow)
            #expect(decision.unanswered?.contains("answered PUT /v1/policies/swiftdeploy/broken.rego with HTTP 400") == true, "\(decision.unanswered ?? "")")
        }
    }

    @Test func unreachableServerDenies() async {
        let port = TestSupport.freePort()
        let decision = await opa("http://127.0.0.1:\(port)", timeout: .seconds(2)).decide(.infrastructure, input: healthyHost)
        #expect(!decision.allow)
        #expect(decision.unanswered?.hasPrefix("OPA at http://127.0.0.1:\(port) is unreachable") == true, "\(decision.unanswered ?? "")")
    }

    @Test func slowServerTimesOutAndDenies() async throws {
        let decision = try await BrokenOPA.with(.slow(.seconds(4))) { url in
            await opa(url, timeout: .seconds(1)).decide(.infrastructure, input: healthyHost)
        }
        #expect(!decision.allow)
        #expect(decision.unanswered?.contains("did not answer POST /v1/data/swiftdeploy/infrastructure/decision within 1s") == true,
                "\(decision.unanswered ?? "")")
        #expect(decision.duration < .milliseconds(3000), "it gave up before the slow server answered")
    }

    @Test(arguments: [
        (BrokenOPA.Mode.status(500), "answered POST /v1/data/swiftdeploy/infrastructure/decision with HTTP 500"),
        (.notJSON, "with a body that is not JSON: <html>proxy error</html>"),
        (.noResult, "has no result for /v1/data/swiftdeploy/infrastructure/decision: the decision is undefined"),
        (.notDecision, "data.swiftdeploy.infrastructure.decision is not a decision object"),
    ])
    func eachFailureHasItsOwnMessageAndDenies(mode: BrokenOPA.Mode, message: String) async throws {
        let decision = try await BrokenOPA.with(mode) { url in
            await opa(url).decide(.infrastructure, input: healthyHost)
        }
        #expect(!decision.allow)
        #expect(decision.unanswered?.contains(message) == true, "\(decision.unanswered ?? "")")
    }
}
