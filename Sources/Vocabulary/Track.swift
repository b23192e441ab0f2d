/// A traffic track behind nginx: the stable version, or the canary taking a share beside it.
/// nginx logs it in the `upstream` field of each access-log line.
public enum Track: String, Sendable, Codable, CodingKeyRepresentable, CaseIterable, Comparable {
    case stable
    case canary

    public static func < (a: Track, b: Track) -> Bool { a == .stable && b == .canary }
}
