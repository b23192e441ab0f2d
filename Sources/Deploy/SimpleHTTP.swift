import AsyncHTTPClient
import Foundation
import NIOCore
import Policy

/// Small HTTP calls the use cases make to instances on loopback.
enum SimpleHTTP {
    struct Reply: Sendable {
        let status: Int
        let body: String
    }

    static func get(_ url: String, timeout: Duration = .seconds(2)) async throws -> Reply {
        try await send(HTTPClientRequest(url: url), timeout: timeout)
    }

    static func post(_ url: String, json: JSONValue, timeout: Duration = .seconds(5)) async throws -> Reply {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(string: json.description))
        return try await send(request, timeout: timeout)
    }

    private static func send(_ request: HTTPClientRequest, timeout: Duration) async throws -> Reply {
        let response = try await HTTPClient.shared.execute(request, timeout: .milliseconds(Int64(timeout.seconds * 1000)))
        let body = try await response.body.collect(upTo: 1 << 20)
        return Reply(status: Int(response.status.code), body: String(buffer: body))
    }
}
