import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL
import Synchronization

/// Every HTTP request SwiftDeploy makes goes through here: health checks, metrics scrapes and
/// chaos switches on loopback, the OPA engine, webhooks, the demo's traffic. One client
/// (AsyncHTTPClient's shared one unless given another), one deadline, one way of reading the answer.
public enum HTTP {
    public struct Reply: Sendable {
        public let status: Int
        public let body: ByteBuffer
        public var text: String { String(buffer: body) }
    }

    /// Why a request got no complete answer: none came (refused, unreachable, or nothing before the
    /// deadline), or the body stopped short.
    public enum Failure: Error, CustomStringConvertible {
        case noAnswer(any Error)
        case incompleteBody(any Error)

        public var description: String {
            switch self {
            case .noAnswer(let error): "no answer: \(error)"
            case .incompleteBody(let error): "the answer stopped short: \(error)"
            }
        }
    }

    public static func get(_ url: String, timeout: Duration = .seconds(2), client: HTTPClient = .shared) async throws(Failure) -> Reply {
        try await send(.GET, url, timeout: timeout, client: client)
    }

    /// A client for our own HTTPS edge: it trusts the system's roots and `certificateFile` (the
    /// edge's chain, so a self-signed development certificate verifies too), and it checks the
    /// chain but not the name, since it reaches the edge by address rather than by the site's name.
    /// One per file, for the life of the process, like `.shared`.
    public static func client(trusting certificateFile: String) -> HTTPClient {
        edgeClients.withLock { clients in
            if let client = clients[certificateFile] { return client }
            var tls = TLSConfiguration.makeClientConfiguration()
            tls.additionalTrustRoots = [.file(certificateFile)]
            tls.certificateVerification = .noHostnameVerification
            let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: HTTPClient.Configuration(tlsConfiguration: tls))
            clients[certificateFile] = client
            return client
        }
    }

    private static let edgeClients = Mutex<[String: HTTPClient]>([:])

    /// POSTs a JSON text.
    public static func post(_ url: String, json: String, timeout: Duration = .seconds(5)) async throws(Failure) -> Reply {
        try await send(.POST, url, headers: [("Content-Type", "application/json")], body: json, timeout: timeout)
    }

    /// One request; the whole answer (up to `limit` bytes) within `timeout`.
    public static func send(_ method: HTTPMethod, _ url: String, headers: [(String, String)] = [], body: String? = nil,
                            timeout: Duration, limit: Int = 4 << 20, client: HTTPClient = .shared) async throws(Failure) -> Reply {
        var request = HTTPClientRequest(url: url)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(ByteBuffer(string: body)) }
        let deadline = TimeAmount.nanoseconds(Int64(timeout.components.seconds) * 1_000_000_000 + timeout.components.attoseconds / 1_000_000_000)
        let response: HTTPClientResponse
        do {
            response = try await client.execute(request, timeout: deadline)
        } catch {
            throw .noAnswer(error)
        }
        do {
            return Reply(status: Int(response.status.code), body: try await response.body.collect(upTo: limit))
        } catch {
            throw .incompleteBody(error)
        }
    }
}
