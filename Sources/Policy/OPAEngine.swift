import AsyncHTTPClient
import Foundation
import Manifest
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import Vocabulary
import Web

/// An Open Policy Agent server over its REST API: the limits go in with
/// `PUT /v1/data/swiftdeploy/limits`, the decision comes from `POST /v1/data/<package>/decision`
/// with `{"input": …}`. Every way the server can fail to answer has its own message, and each denies.
public struct OPAEngine: PolicyEngine {
    public let name = "opa"
    public let baseURL: String
    public let timeout: Duration
    public let data: JSONValue
    let client: HTTPClient

    public init(baseURL: String, timeout: Duration, data: JSONValue, client: HTTPClient = .shared) {
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.timeout = timeout
        self.data = data
        self.client = client
    }

    public func decide(_ policy: PolicyName, input: JSONValue) async -> Decision {
        let started = ContinuousClock.now
        do {
            try await put("/v1/data/swiftdeploy/limits", body: data["swiftdeploy"]?["limits"] ?? [:])
            let path = "/v1/data/" + policy.package.replacingOccurrences(of: ".", with: "/") + "/decision"
            let body = try await post(path, body: ["input": input])
            guard let document = JSONValue(parsing: body) else {
                throw EngineFailure("OPA at \(baseURL) answered \(path) with a body that is not JSON: \(String(decoding: body.prefix(200), as: UTF8.self))")
            }
            guard let result = document["result"] else {
                throw EngineFailure("OPA at \(baseURL) has no result for \(path): the decision is undefined (is package \(policy.package) loaded?)")
            }
            return Decision.parse(policy, result: result, engine: name, duration: ContinuousClock.now - started)
        } catch let failure as EngineFailure {
            return .failClosed(policy, engine: name, duration: ContinuousClock.now - started, reason: failure.description)
        } catch {
            return .failClosed(policy, engine: name, duration: ContinuousClock.now - started, reason: "OPA at \(baseURL): \(error)")
        }
    }

    private func put(_ path: String, body: JSONValue) async throws {
        _ = try await send(.PUT, path, body: body, accept: [200, 204])
    }

    private func post(_ path: String, body: JSONValue) async throws -> Data {
        try await send(.POST, path, body: body, accept: [200])
    }

    private func send(_ method: HTTPMethod, _ path: String, body: JSONValue, accept: Set<Int>) async throws -> Data {
        let started = ContinuousClock.now
        let reply: HTTP.Reply
        do {
            reply = try await HTTP.send(method, baseURL + path, headers: [("Content-Type", "application/json")], body: body.description,
                                        timeout: timeout, client: client)
        } catch .noAnswer(let error) {
            // A refused connection is retried by the client until the deadline, so look at what failed:
            // nothing listening is "unreachable"; anything else that lasts until the deadline is a timeout.
            let text = String(describing: error).lowercased()
            let refused = text.contains("refused") || text.contains("connection reset") || text.contains("unreachable")
            let timedOut = (error as? HTTPClientError).map { [.deadlineExceeded, .readTimeout].contains($0) } ?? false
            if !refused && (timedOut || ContinuousClock.now - started >= timeout * 0.9) {
                throw EngineFailure("OPA at \(baseURL) did not answer \(method) \(path) within \(timeout.manifestText) (policy.timeout)")
            }
            throw EngineFailure("OPA at \(baseURL) is unreachable (\(error)); start it, or set policy.engine: embedded")
        } catch {
            throw EngineFailure("OPA at \(baseURL) did not finish answering \(method) \(path) within \(timeout.manifestText)")
        }
        guard accept.contains(reply.status) else {
            throw EngineFailure("OPA at \(baseURL) answered \(method) \(path) with HTTP \(reply.status): \(reply.text.prefix(300))")
        }
        return Data(buffer: reply.body)
    }
}
