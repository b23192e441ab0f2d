import Foundation
import Manifest
import Telemetry
import Vocabulary

/// The parsers strangers' bytes reach, as fuzz targets: each takes any bytes and must neither trap,
/// leak nor hang. `scripts/fuzz TARGET SECONDS` runs one under libFuzzer (built with
/// `-sanitize=fuzzer,address -DFUZZING`); the plain build runs files through them (a corpus replay).
enum FuzzTarget: String, CaseIterable {
    case json, combined, splitter, manifest, prometheus

    func run(_ bytes: UnsafeBufferPointer<UInt8>) {
        switch self {
        case .json, .combined:
            var parser = GuardLogParser(format: self == .json ? .json : .combinedXFF,
                                        resolver: ClientResolver(trustedProxies: [CIDR("0.0.0.0/0")!, CIDR("::/0")!]))
            for line in bytes.split(separator: 0x0A, omittingEmptySubsequences: true) {
                _ = parser.parse(UnsafeBufferPointer(rebasing: line))
            }
            _ = JSONLogLine.parse(bytes)
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

    /// The target `FUZZ_TARGET` names.
    static var chosen: FuzzTarget {
        let name = ProcessInfo.processInfo.environment["FUZZ_TARGET"] ?? ""
        guard let target = FuzzTarget(rawValue: name) else {
            fatalError("FUZZ_TARGET must be one of \(allCases.map(\.rawValue).joined(separator: ", ")), got \"\(name)\"")
        }
        return target
    }
}

#if FUZZING
/// libFuzzer's own driver, run from the executable's entry point (SwiftPM names it for the module).
@_silgen_name("LLVMFuzzerRunDriver")
private func runDriver(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
                       _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt

nonisolated(unsafe) private var target = FuzzTarget.json

@_cdecl("swiftdeploy_fuzz_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    target = FuzzTarget.chosen
    var count = argc
    var arguments = argv
    return runDriver(&count, &arguments) { data, size in
        target.run(UnsafeBufferPointer(start: data, count: size))
        return 0
    }
}
#else
/// Replays files (a corpus, a crash) through a target: `FUZZ_TARGET=json swiftdeploy-fuzz FILE…`.
@main enum CorpusReplay {
    static func main() throws {
        let target = FuzzTarget.chosen
        for path in CommandLine.arguments.dropFirst() {
            let data = try Data(contentsOf: URL(fileURLWithPath: path))
            data.withUnsafeBytes { target.run($0.bindMemory(to: UInt8.self)) }
        }
    }
}
#endif
