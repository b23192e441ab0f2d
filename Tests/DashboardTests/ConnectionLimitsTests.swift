@testable import Dashboard
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The dashboard cannot starve the root guard of descriptors (issue 27, M1): a real server on
/// loopback, raw sockets from two loopback addresses, and a slow sender.
@Suite(.serialized) struct DashboardConnectionLimits {
    /// A TCP connection from `source` to 127.0.0.1:`port`.
    func connect(_ port: Int, from source: String = "127.0.0.1") -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var local = sockaddr_in(), remote = sockaddr_in()
        local.sin_family = sa_family_t(AF_INET)
        local.sin_addr.s_addr = inet_addr(source)
        remote.sin_family = sa_family_t(AF_INET)
        remote.sin_addr.s_addr = inet_addr("127.0.0.1")
        remote.sin_port = in_port_t(UInt16(port).bigEndian)
        let size = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &local) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, size) } }
        _ = withUnsafePointer(to: &remote) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, size) } }
        return fd
    }

    /// Whether the server closed `fd` within `seconds` (a read gives end of file).
    func closedByServer(_ fd: Int32, within seconds: Double) -> Bool {
        var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&poller, 1, Int32(seconds * 1000)) == 1 else { return false }
        var byte: UInt8 = 0
        return recv(fd, &byte, 1, 0) <= 0
    }

    func send(_ fd: Int32, _ text: String) { _ = text.withCString { Glibc.send(fd, $0, strlen($0), Int32(MSG_NOSIGNAL)) } }

    @Test func connectionsAreCappedInAllAndPerAddressAndASlowHeadIsClosed() async throws {
        let server = DashboardServer(name: "shop", source: FixedSource(), access: DashboardAccess(token: nil, loopbackOnly: true),
                                     limits: .init(total: 6, perAddress: 4, headerTimeout: .seconds(1)))
        let bound = AsyncStream<Int>.makeStream()
        let serving = Task { try await server.run(host: "127.0.0.1", port: 0) { bound.continuation.yield($0) } }
        defer { serving.cancel() }
        var ports = bound.stream.makeAsyncIterator()
        let port = try #require(await ports.next())
        var open: [Int32] = []
        defer { open.forEach { close($0) } }

        for _ in 0..<4 { open.append(connect(port)) }
        // Connections are taken on several threads: the next is made once these are counted.
        for _ in 0..<200 where server.limits.open() < 4 { try await Task.sleep(for: .milliseconds(10)) }
        #expect(server.limits.open(from: "127.0.0.1") == 4)
        let fifth = connect(port)
        open.append(fifth)
        #expect(closedByServer(fifth, within: 0.9), "a fifth connection from one address is closed at once")
        for _ in 0..<2 { open.append(connect(port, from: "127.0.0.2")) }
        // Connections are taken on several threads: the next is made once these are counted.
        for _ in 0..<200 where server.limits.open() < 6 { try await Task.sleep(for: .milliseconds(10)) }
        let overTotal = connect(port, from: "127.0.0.2")
        open.append(overTotal)
        #expect(closedByServer(overTotal, within: 0.9), "the seventh in all is closed, whatever its address")
        #expect(server.limits.open() == 6)

        // A slow sender: half a request head, then nothing; closed once the head is late.
        send(open[0], "GET /api/state HTTP/1.1\r\nHost: localhost\r\n")
        #expect(closedByServer(open[0], within: 3), "a request head still unfinished after 1 s is closed")
        for _ in 0..<300 where server.limits.open() > 0 { try await Task.sleep(for: .milliseconds(10)) }
        #expect(server.limits.open() == 0, "every idle connection closed and counted out")

        // A whole request is answered, and the connection stays for the next.
        let reader = connect(port)
        open.append(reader)
        send(reader, "GET /api/state HTTP/1.1\r\nHost: localhost\r\n\r\n")
        var buffer = [UInt8](repeating: 0, count: 64)
        let count = recv(reader, &buffer, buffer.count, 0)
        #expect(String(decoding: buffer.prefix(max(0, count)), as: UTF8.self).hasPrefix("HTTP/1.1 200"))
    }
}
