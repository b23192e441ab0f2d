import EdgeRules
import Foundation
import FuzzDriver
import Manifest
import ReferenceParsers
import Telemetry
import Vocabulary

/// The parsers strangers' bytes reach, as fuzz targets: each takes any bytes and must neither trap,
/// leak nor hang, and the log-line and address parsers must read what their plain twins
/// (`ReferenceParsers`) read: a disagreement is a crash. `scripts/fuzz TARGET SECONDS` runs one under libFuzzer (built with
/// `-sanitize=fuzzer,address -DFUZZING`); the plain build runs files through them (a corpus replay).
enum FuzzTarget: String, CaseIterable {
    case json, combined, address, splitter, manifest, prometheus

    func run(_ bytes: UnsafeBufferPointer<UInt8>) {
        switch self {
        case .json, .combined:
            var parser = GuardLogParser(format: self == .json ? .json : .combinedXFF, resolver: Self.everyProxyTrusted, classifier: Self.classifier)
            for line in bytes.split(separator: 0x0A, omittingEmptySubsequences: true) {
                let line = UnsafeBufferPointer(rebasing: line)
                _ = parser.parse(line)
                // Differential: the fast parser must read what its plain twin reads.
                for format in self == .json ? [AccessLogFormat.json] : [.combinedXFF, .common, .vhostCombined] {
                    if let problem = LineDifferential.check(line, format) { preconditionFailure("\(format.rawValue): \(problem)") }
                }
            }
            _ = JSONLogLine.parse(bytes)
        case .address:
            let text = String(decoding: bytes, as: UTF8.self)
            if let problem = LineDifferential.checkAddress(text) { preconditionFailure(problem) }
        case .splitter:
            var splitter = LineSplitter(maxLine: 64)
            var lines: [[UInt8]] = []
            // The same bytes in pieces cut where the input says (its first byte), then whole.
            let cut = max(1, Int(bytes.first ?? 1))
            for start in stride(from: 0, to: bytes.count, by: cut) {
                splitter.split(UnsafeBufferPointer(rebasing: bytes[start..<min(bytes.count, start + cut)]), into: &lines)
            }
            precondition(lines.allSatisfy { $0.count <= 64 && !$0.contains(0x0A) }, "a line over the limit or with a newline")
        case .manifest:
            _ = try? ManifestLoader.parse(yaml: String(decoding: bytes, as: UTF8.self), file: "fuzz.yaml", directory: "/nonexistent")
        case .prometheus:
            _ = try? PrometheusText(parsing: String(decoding: bytes, as: UTF8.self))
        }
    }

    /// Built once: every proxy trusted, so the forwarded-for path runs too; the default request classes.
    static let everyProxyTrusted = ClientResolver(trustedProxies: [CIDR("0.0.0.0/0")!, CIDR("::/0")!])
    static let classifier = RequestClassifier()
}

#if FUZZING
@_cdecl("swiftdeploy_fuzz_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    FuzzDriver.run(argc, argv, FuzzDriver.target(FuzzTarget.self).run)
}
#else
@main enum CorpusReplay {
    static func main() throws { try FuzzDriver.replay(FuzzDriver.target(FuzzTarget.self).run) }
}
#endif
