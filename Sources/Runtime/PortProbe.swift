import Spawn

#if canImport(Glibc)
import Glibc
#endif

/// Whether a TCP port can be bound, to fail early with a clear message instead of a cryptic bind error.
public enum PortProbe {
    public static func isFree(_ port: Int, host: String = "127.0.0.1") -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        // Servers bind with SO_REUSEADDR, so connections lingering in TIME_WAIT do not make a port busy.
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        inet_pton(AF_INET, host.contains(":") ? "127.0.0.1" : host, &address.sin_addr)
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        return result == 0
    }

    /// Who listens on `port`, as `ss` tells it (`python3 (pid 4242)`); nil when nobody does or it cannot tell.
    public static func holder(_ port: Int) -> String? {
        guard let listing = try? ChildProcess.run(["ss", "-H", "-ltnp", "sport = :\(port)"]).output,
              let users = listing.range(of: "users:((\"") else { return nil }
        let rest = listing[users.upperBound...]
        guard let nameEnd = rest.firstIndex(of: "\""), let pid = rest.range(of: "pid=") else { return nil }
        return "\(rest[..<nameEnd]) (pid \(rest[pid.upperBound...].prefix { $0.isNumber }))"
    }

    /// The first of `ports` to start an instance on: a port one of this stack's own instances holds
    /// is passed over (a replacement starts beside what it replaces); a port anything else holds is
    /// an error naming the holder, never silently swapped for the other slot.
    public static func firstFree(_ ports: [Int], for what: String, ours: (Int) -> Bool, field: String) throws(ProcessError) -> Int {
        for port in ports {
            if isFree(port) { return port }
            guard ours(port) else {
                throw ProcessError("port \(port) for \(what) is taken by \(holder(port) ?? "another program") (ss -ltnp 'sport = :\(port)'), not by this stack; stop it, or change \(field)")
            }
        }
        throw ProcessError("ports \(ports.map(String.init).joined(separator: " and ")) for \(what) are both held by this stack's instances; `swiftdeploy status` shows them")
    }
}
