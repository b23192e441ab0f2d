import Dashboard
import Foundation
import FuzzDriver
import Detection
import HTTPTypes
import Hummingbird
import Logging
import NIOEmbedded
import Vocabulary

/// The dashboard's request handlers under fuzz: the bytes are read as a request (a first line
/// `METHOD target`, `Name: value` header lines, an empty line, the body) and answered by the real
/// router, gate included, with a token set and loopback-only reading, so the Host check, the
/// cookie and bearer checks, the login form and the unban body all see the input. The same bytes are
/// also the guard's rejected sample lines, so the state's JSON carries them too.
enum DashboardFuzz {
    /// A source that shows what the input put in it and takes the unbans it asks for.
    struct Source: DashboardSource {
        let snapshot: GuardSnapshot
        let guardMetrics = GuardMetrics()
        func guardSnapshot() -> GuardSnapshot { snapshot }
        func host() -> HostView { HostView(load: 0.5, cores: 2, memUsedPct: 40) }
        func deploy() async -> DeployView? { nil }
        func history(since second: Int) throws -> DashboardHistory { DashboardHistory(seconds: [], recalcs: [], hours: []) }
        func unban(_ target: BanTarget) throws {}
    }

    /// Collects a response body (at most 1 MiB: the dashboard's answers are small).
    struct Collector: ResponseBodyWriter {
        var bytes = 0
        mutating func write(_ buffer: ByteBuffer) async throws {
            bytes += buffer.readableBytes
            precondition(bytes < 1 << 20, "a dashboard answer over 1 MiB")
        }
        consuming func finish(_ trailingHeaders: HTTPFields?) async throws {}
    }

    /// One channel for every request (a channel per input is never closed, so it would leak).
    nonisolated(unsafe) static let context = DashboardContext(source: .init(channel: EmbeddedChannel(), logger: Logger(label: "fuzz")))

    static func answer(_ bytes: UnsafeBufferPointer<UInt8>) {
        let text = String(decoding: bytes, as: UTF8.self)
        let (head, body) = text.range(of: "\n\n").map { (text[..<$0.lowerBound], text[$0.upperBound...]) } ?? (text[...], "")
        var lines = head.split(separator: "\n", omittingEmptySubsequences: false).makeIterator()
        let first = (lines.next() ?? "").split(separator: " ", maxSplits: 1)
        let method = HTTPRequest.Method(String(first.first ?? "GET")) ?? .get
        var fields = HTTPFields()
        var authority: String?
        while let line = lines.next() {
            guard let colon = line.firstIndex(of: ":"), let name = HTTPField.Name(String(line[..<colon])) else { continue }
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            // HTTP/1's Host header is HTTP's authority.
            if name.canonicalName == "host" { authority = value } else { fields.append(HTTPField(name: name, value: value)) }
        }
        var snapshot = GuardSnapshot(at: 1_800_000_100, startedAt: 1_800_000_000, enforcer: "dry-run", log: "/var/log/nginx/access.log")
        snapshot.badSamples = [text]
        let server = DashboardServer(name: "fuzz", source: Source(snapshot: snapshot),
                                     access: DashboardAccess(token: "fuzz-token-0123456789abcdef", loopbackOnly: true))
        let request = Request(head: HTTPRequest(method: method, scheme: "http", authority: authority,
                                                path: first.count > 1 ? String(first[1]) : "/", headerFields: fields),
                              body: RequestBody(buffer: ByteBuffer(string: String(body))))
        let done = DispatchSemaphore(value: 0)
        Task {
            defer { done.signal() }
            let response = (try? await server.router().buildResponder().respond(to: request, context: context)) ?? Response(status: .internalServerError)
            // An event stream runs until the page goes away: its head is the answer here.
            guard response.headers[.contentType] != "text/event-stream" else { return }
            try? await response.body.write(Collector())
        }
        done.wait()
    }
}

/// The targets of this executable, which links the guard's engine and the web server:
/// `FUZZ_TARGET=dashboard` (requests) or `shared` (rows of the shared decisions table).
enum DashboardTarget: String, CaseIterable {
    case dashboard, shared

    func run(_ bytes: UnsafeBufferPointer<UInt8>) {
        switch self {
        case .dashboard: DashboardFuzz.answer(bytes)
        case .shared: SharedRowFuzz.take(bytes)
        }
    }
}

#if FUZZING
@_cdecl("swiftdeploy_fuzz_dashboard_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    FuzzDriver.run(argc, argv, FuzzDriver.target(DashboardTarget.self).run)
}
#else
@main enum CorpusReplay {
    static func main() throws { try FuzzDriver.replay(FuzzDriver.target(DashboardTarget.self).run) }
}
#endif
