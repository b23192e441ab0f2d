import AsyncHTTPClient
import Foundation
import Manifest
import NIOCore
import Vocabulary

/// The small HTTP calls SwiftDeploy makes to its own instances on loopback: health checks, metrics
/// scrapes, chaos switches. One client, one way of reading the answer.
public enum LoopbackHTTP {
    public struct Reply: Sendable {
        public let status: Int
        public let body: String
    }

    public static func get(_ url: String, timeout: Duration = .seconds(2)) async throws -> Reply {
        try await send(HTTPClientRequest(url: url), timeout: timeout)
    }

    /// POSTs a JSON text.
    public static func post(_ url: String, json: String, timeout: Duration = .seconds(5)) async throws -> Reply {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(string: json))
        return try await send(request, timeout: timeout)
    }

    private static func send(_ request: HTTPClientRequest, timeout: Duration) async throws -> Reply {
        let response = try await HTTPClient.shared.execute(request, timeout: .milliseconds(Int64(timeout.seconds * 1000)))
        let body = try await response.body.collect(upTo: 4 << 20)
        return Reply(status: Int(response.status.code), body: String(buffer: body))
    }
}
