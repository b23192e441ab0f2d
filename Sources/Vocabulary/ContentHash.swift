import Crypto

/// SHA-256 as lowercase hex, to stamp generated files with the manifest they came from and to name
/// a policy bundle by its content (swift-crypto's digest).
public enum ContentHash {
    public static func sha256(_ text: String) -> String { sha256(Array(text.utf8)) }

    public static func sha256(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        let hex = Crypto.SHA256.hash(data: bytes).flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 0x0f)]] }
        return String(decoding: hex, as: UTF8.self)
    }
}
