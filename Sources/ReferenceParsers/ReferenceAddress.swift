import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The C library's `inet_pton`, the twin of `IPAddress(bytes:)`: an address's 16 bytes (IPv4 as
/// IPv4-mapped IPv6, as the guard normalises it), or nil. A zone index (`fe80::1%eth0`) is dropped
/// first, whatever it holds, as the guard does.
public enum ReferenceAddress {
    public static func parse(_ text: String) -> [UInt8]? {
        let bare = text.split(separator: "%", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? text
        // A C string ends at its first NUL: text holding one is not an address, whatever precedes it.
        guard !text.hasPrefix("%"), !bare.contains("\0") else { return nil }
        var v4 = in_addr()
        if inet_pton(AF_INET, bare, &v4) == 1 {
            guard !text.contains("%") else { return nil }
            return [UInt8](repeating: 0, count: 10) + [0xFF, 0xFF] + withUnsafeBytes(of: v4) { Array($0) }
        }
        var v6 = in6_addr()
        guard inet_pton(AF_INET6, bare, &v6) == 1 else { return nil }
        return withUnsafeBytes(of: v6) { Array($0) }
    }
}
