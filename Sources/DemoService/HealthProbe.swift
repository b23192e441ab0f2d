import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The demo image's own health check (`swiftdeploy-demo --health-check`): one HTTP GET on loopback,
/// so a container needs no curl or shell for Docker to know whether it serves.
public enum HealthProbe {
    /// True when `GET path` on 127.0.0.1:`port` answers 200 within `timeout` seconds.
    public static func isHealthy(port: Int, path: String, timeout: Int = 3) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var limit = timeval(tv_sec: timeout, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { return false }
        let request = Array("GET \(path) HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n".utf8)
        guard request.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, 0) }) == request.count else { return false }
        // The status line, "HTTP/1.1 200 OK", however the answer is split into reads.
        var head: [UInt8] = [], buffer = [UInt8](repeating: 0, count: 256)
        while !head.contains(UInt8(ascii: "\n")) && head.count < 1024 {
            let count = recv(fd, &buffer, buffer.count, 0)
            guard count > 0 else { break }
            head += buffer[..<count]
        }
        let words = String(decoding: head, as: UTF8.self).split(separator: "\n").first?.split(separator: " ", maxSplits: 2) ?? []
        return words.count >= 2 && words[1] == "200"
    }
}
