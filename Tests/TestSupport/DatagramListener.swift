import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A unix datagram socket the test listens on: what systemd's notify socket or the journal's
/// native socket would receive.
public final class DatagramListener: @unchecked Sendable {
    public let path: String
    let fd: Int32

    public init() throws {
        path = NSTemporaryDirectory() + "swiftdeploy-dgram-\(UUID().uuidString.prefix(8)).sock"
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in path.utf8.enumerated() { raw[index] = byte }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0 else { throw POSIXError(.EADDRINUSE) }
        var timeout = timeval(tv_sec: 0, tv_usec: 200_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit {
        close(fd)
        unlink(path)
    }

    /// The next datagram, or nil when none came within 200 ms.
    public func receive() -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: 65536)
        let count = recv(fd, &buffer, buffer.count, 0)
        return count < 0 ? nil : Array(buffer[0..<count])
    }

    /// Datagrams as text until one contains `wanted` (or `limit` passes); all of them, in order.
    public func messages(until wanted: String, within limit: Duration) -> [String] {
        var received: [String] = []
        let started = ContinuousClock.now
        while ContinuousClock.now - started < limit {
            guard let bytes = receive() else { continue }
            received.append(String(decoding: bytes, as: UTF8.self))
            if received.last!.contains(wanted) { break }
        }
        return received
    }
}

