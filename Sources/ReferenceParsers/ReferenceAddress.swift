import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The C library's `inet_pton`, the twin of `IPAddress(bytes:)`: an address's 16 bytes (IPv4 as
/// IPv4-mapped IPv6, as the guard normalises it), or nil. A zone index (`fe80::1%eth0`) is dropped
/// first, whatever it holds, as the guard does.
public enum ReferenceAddress {
    public static func parse(_ text: String) -> [UInt8]? {
        // Split at the byte `%`: as Characters, `%` followed by a combining mark is one grapheme and
        // would not be found (a fuzzer's `::3:7%\u{356}…`).
        let percent = text.utf8.firstIndex(of: UInt8(ascii: "%"))
        let bare = String(decoding: text.utf8[..<(percent ?? text.utf8.endIndex)], as: UTF8.self)
        // A C string ends at its first NUL: text holding one is not an address, whatever precedes it.
        guard percent != text.utf8.startIndex, !bare.utf8.contains(0) else { return nil }
        var v4 = in_addr()
        if inet_pton(AF_INET, bare, &v4) == 1 {
            guard percent == nil else { return nil }
            return [UInt8](repeating: 0, count: 10) + [0xFF, 0xFF] + withUnsafeBytes(of: v4) { Array($0) }
        }
        var v6 = in6_addr()
        guard inet_pton(AF_INET6, bare, &v6) == 1 else { return nil }
        return withUnsafeBytes(of: v6) { Array($0) }
    }
}
