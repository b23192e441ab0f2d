import AsyncHTTPClient
import Foundation
import Manifest
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import Vocabulary
import Web

/// An Open Policy Agent server over its REST API. Before every decision the server's policies are
/// checked against the ones this tool was given (`GET /v1/policies`) and any that differ are
/// uploaded (`PUT /v1/policies/swiftdeploy/<file>`, ours no longer given are deleted), so a stale
/// policy never answers; a module of
/// someone else's that joins our packages makes the engine refuse to decide. The limits travel in
/// the input; the decision comes from `POST /v1/data/<package>/decision`. A bearer token goes with
/// every request when set. Every way the server can fail to answer has its own message, and each denies.
public struct OPAEngine: PolicyEngine {
    public let name = "opa"
    public let baseURL: String
    public let token: String?
    public let timeout: Duration
    public let modules: [PolicyFiles.Module]
    public let limits: PolicyLimits
    let client: HTTPClient

    public init(baseURL: String, token: String? = nil, timeout: Duration, modules: [PolicyFiles.Module], limits: PolicyLimits,
                client: HTTPClient = .shared) {
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.token = token
        self.timeout = timeout
        self.modules = modules
        self.limits = limits
        self.client = client
    }

    /// The policies' revision: a digest of every module's name and text, the same on both engines.
    public var revision: String { PolicyFiles.revision(modules) }

    public func decide(_ policy: PolicyName, input: JSONValue) async -> Decision {
        await answer(policy, input: input).made(by: revision)
    }

    private func answer(_ policy: PolicyName, input: JSONValue) async -> Decision {
        let started = ContinuousClock.now
        do {
            try await upload(modules)
            let path = policy.path
            guard let result = try await evaluate(path, input: limits.input(policy, input)) else {
                throw EngineFailure("OPA at \(baseURL) has no result for /v1/data/\(path): the decision is undefined (is package \(policy.package) loaded?)")
            }
            return Decision.parse(policy, result: result, engine: name, duration: ContinuousClock.now - started)
        } catch let failure as EngineFailure {
            return .failClosed(policy, engine: name, duration: ContinuousClock.now - started, reason: failure.description)
        } catch {
            return .failClosed(policy, engine: name, duration: ContinuousClock.now - started, reason: "OPA at \(baseURL): \(error)")
        }
    }

    /// The server's id for one of our modules: `swiftdeploy/<file name>`.
    static func id(_ module: PolicyFiles.Module) -> String { "swiftdeploy/" + (module.name as NSString).lastPathComponent }

    /// Makes the server hold exactly `modules` under our ids: uploads what is missing or differs, and
    /// refuses when a module of another id declares one of our packages (it would join the decision).
    public func upload(_ modules: [PolicyFiles.Module]) async throws {
        let listing = try await send(.GET, "/v1/policies", body: nil, accept: [200])
        let held = JSONValue(parsing: listing)?["result"]?.array ?? []
        var raw: [String: String] = [:]
        for policy in held {
            if let id = policy["id"]?.string { raw[id] = policy["raw"]?.string ?? "" }
        }
        let ours = Set(modules.map(Self.id))
        let packages = Set(modules.compactMap { PolicyFiles.package(of: $0.text) })
        for (id, text) in raw where !ours.contains(id) && !id.hasPrefix("swiftdeploy/") {
            if let package = PolicyFiles.package(of: text), packages.contains(package) {
                throw EngineFailure("OPA at \(baseURL) holds policy \(id), not ours, in package \(package): it would take part in the decision; remove it (DELETE /v1/policies/\(id)) or use another OPA")
            }
        }
        for id in raw.keys where id.hasPrefix("swiftdeploy/") && !ours.contains(id) {
            _ = try await send(.DELETE, "/v1/policies/\(id)", body: nil, accept: [200])  // a file no longer given
        }
        for module in modules where raw[Self.id(module)] != module.text {
            _ = try await send(.PUT, "/v1/policies/\(Self.id(module))", body: module.text, accept: [200], contentType: "text/plain")
        }
    }

    /// The document at `data/<path>` for `input` (nil: undefined).
    public func evaluate(_ path: String, input: JSONValue?) async throws -> JSONValue? {
        let body = try await send(.POST, "/v1/data/\(path)", body: JSONValue.object(input.map { ["input": $0] } ?? [:]).description, accept: [200])
        guard let document = JSONValue(parsing: body) else {
            throw EngineFailure("OPA at \(baseURL) answered /v1/data/\(path) with a body that is not JSON: \(String(decoding: body.prefix(200), as: UTF8.self))")
        }
        return document["result"]
    }

    private func send(_ method: HTTPMethod, _ path: String, body: String?, accept: Set<Int>,
                      contentType: String = "application/json") async throws -> Data {
        let started = ContinuousClock.now
        var headers = [("Content-Type", contentType)]
        if let token { headers.append(("Authorization", "Bearer \(token)")) }
        let reply: HTTP.Reply
        do {
            reply = try await HTTP.send(method, baseURL + path, headers: headers, body: body, timeout: timeout, client: client)
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
        if reply.status == 401 || reply.status == 403 {
            throw EngineFailure("OPA at \(baseURL) refused \(method) \(path) (HTTP \(reply.status)): \(token == nil ? "it wants a token: set policy.opa_token" : "check policy.opa_token") (\(reply.text.prefix(200)))")
        }
        guard accept.contains(reply.status) else {
            throw EngineFailure("OPA at \(baseURL) answered \(method) \(path) with HTTP \(reply.status): \(reply.text.prefix(300))")
        }
        return Data(buffer: reply.body)
    }
}
