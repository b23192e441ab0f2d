import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Spawn

#if canImport(Glibc)
import Glibc
#endif

/// Helpers shared by the end-to-end tests: built binaries, free ports, temporary projects, HTTP.
public enum TestSupport {
    /// The directory holding the built products (`swiftdeploy`, `swiftdeploy-demo`) next to the test bundle.
    public static var productsDirectory: String {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var directory = (exe as NSString).deletingLastPathComponent
        while !directory.isEmpty && directory != "/" {
            if FileManager.default.isExecutableFile(atPath: "\(directory)/swiftdeploy") { return directory }
            directory = (directory as NSString).deletingLastPathComponent
        }
        fatalError("swiftdeploy binary not found near \(exe); run `swift build` before `swift test` (scripts/test does)")
    }

    public static func product(_ name: String) -> String { "\(productsDirectory)/\(name)" }

    /// A TCP port nothing listens on right now.
    public static func freePort() -> Int {
        let (fd, port) = bindLoopback(port: 0, listening: false)
        close(fd)
        return port
    }

    /// A socket listening on 127.0.0.1:`port` (0 picks one); close it to stop. Returns the port bound.
    public static func listenOnLoopback(port: Int = 0) -> (fd: Int32, port: Int) {
        bindLoopback(port: port, listening: true)
    }

    private static func bindLoopback(port: Int, listening: Bool) -> (fd: Int32, port: Int) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                guard bind(fd, pointer, length) == 0, !listening || listen(fd, 16) == 0 else { return false }
                return getsockname(fd, pointer, &length) == 0
            }
        }
        precondition(bound, "cannot bind 127.0.0.1:\(port): \(String(cString: strerror(errno)))")
        return (fd, Int(UInt16(bigEndian: address.sin_port)))
    }

    /// Whether something accepts TCP connections on 127.0.0.1:`port` (a plain connect, no retries).
    public static func isListening(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
    }

    /// A fresh directory under the system temp dir, removed by the caller.
    public static func temporaryDirectory(_ label: String) -> String {
        let path = "\(NSTemporaryDirectory())swiftdeploy-\(label)-\(UUID().uuidString.prefix(8))"
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    public struct CommandResult: Sendable {
        public let status: Int32
        public let stdout: String
        public let stderr: String
    }

    /// Runs one of our built products to completion (with posix_spawn: Foundation's Process closed
    /// descriptors SwiftNIO had reused, crashing parallel tests in epoll_ctl).
    public static func run(_ product: String, _ arguments: [String], in directory: String? = nil,
                           environment: [String: String] = [:]) throws -> CommandResult {
        let result = try ChildProcess.capture([Self.product(product)] + arguments, environment: environment, in: directory)
        return CommandResult(status: result.status, stdout: result.output, stderr: result.errors)
    }

    /// `run` on a thread of its own, so waiting for the process never blocks Swift's cooperative
    /// pool (tests that keep load running while a command works need that pool free).
    public static func runDetached(_ product: String, _ arguments: [String], in directory: String? = nil,
                                   environment: [String: String] = [:]) async throws -> CommandResult {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(with: Result { try run(product, arguments, in: directory, environment: environment) })
            }
        }
    }

    public struct HTTPResult: Sendable {
        public let status: Int
        public let headers: [String: String]
        public let body: String
    }

    public static func get(_ url: String, headers: [String: String] = [:]) async throws -> HTTPResult {
        try await request(url, method: .GET, headers: headers)
    }

    public static func request(_ url: String, method: HTTPMethod, headers: [String: String] = [:], body: String? = nil) async throws -> HTTPResult {
        var request = HTTPClientRequest(url: url)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(ByteBuffer(string: body)) }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        let buffer = try await response.body.collect(upTo: 16 << 20)
        var flattened: [String: String] = [:]
        for header in response.headers { flattened[header.name.lowercased()] = header.value }
        return HTTPResult(status: Int(response.status.code), headers: flattened, body: String(buffer: buffer))
    }
}

/// The real OPA engine behind OPA's REST API (`scripts/opa-server`, on the OPA Go library that
/// `scripts/setup.sh` installs), on a free loopback port for the length of one test.
public final class OPAServer: @unchecked Sendable {
    public let url: String
    private let pid: pid_t

    private init(url: String, pid: pid_t) {
        self.url = url
        self.pid = pid
    }

    /// The project's root: the folder above `.build` holding `scripts/`.
    public static var repositoryRoot: String {
        var directory = TestSupport.productsDirectory
        while !directory.isEmpty && directory != "/" {
            if FileManager.default.fileExists(atPath: "\(directory)/scripts/opa-server") { return directory }
            directory = (directory as NSString).deletingLastPathComponent
        }
        fatalError("scripts/opa-server not found above \(TestSupport.productsDirectory)")
    }

    /// Starts a server (requests must carry `token` when one is given) and waits until it listens.
    /// Started with posix_spawn and no descriptor of ours (not Foundation's Process): a long-lived
    /// server must not inherit the descriptors by which Foundation notices its other children exit,
    /// or their `waitUntilExit` never returns.
    public static func start(token: String? = nil, environment: [String: String] = [:]) throws -> OPAServer {
        let log = NSTemporaryDirectory() + "swiftdeploy-opa-\(UUID().uuidString.prefix(8)).log"
        defer { unlink(log) }
        let pid = try ChildProcess.spawn(["python3", "\(repositoryRoot)/scripts/opa-server", "--addr", "127.0.0.1:0"] + (token.map { ["--token", $0] } ?? []),
                                         environment: environment, logFile: log)
        // The first line says where it listens (or why it could not start); bounded: 20 s.
        var text = ""
        for _ in 0..<400 {
            text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            if text.contains("\n") || !ChildProcess.isAlive(pid) { break }
            usleep(50_000)
        }
        let first = text.split(separator: "\n").first.map(String.init) ?? text
        guard first.hasPrefix("listening on ") else {
            kill(pid, SIGKILL)
            throw StartFailure(description: "scripts/opa-server did not start: \(first) (run scripts/setup.sh)")
        }
        return OPAServer(url: "http://" + first.dropFirst("listening on ".count), pid: pid)
    }

    public struct StartFailure: Error, CustomStringConvertible {
        public let description: String
    }

    /// Kills the server (SIGKILL: nothing of it needs to be kept); it is reaped in the background.
    public func stop() {
        kill(pid, SIGKILL)
        while ChildProcess.isAlive(pid) { usleep(10_000) }
    }

    /// Runs `body` with a fresh server's URL, stopping the server after.
    public static func with<T: Sendable>(token: String? = nil, environment: [String: String] = [:],
                                         _ body: (String) async throws -> T) async throws -> T {
        let server = try start(token: token, environment: environment)
        defer { server.stop() }
        return try await body(server.url)
    }
}
