import Foundation

/// What the fuzz executables share: libFuzzer's driver when built with `-sanitize=fuzzer -DFUZZING`
/// (`scripts/fuzz`), else a replay of files (a corpus, a crash) through the same target. Each
/// executable holds only the code its targets reach, so libFuzzer scans fewer coverage counters per input.
public enum FuzzDriver {
    #if FUZZING
    /// Runs libFuzzer over `target`; call it from the executable's entry point.
    public static func run(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?,
                           _ target: @escaping (UnsafeBufferPointer<UInt8>) -> Void) -> CInt {
        chosen = target
        var count = argc
        var arguments = argv
        return runDriver(&count, &arguments) { data, size in
            FuzzDriver.chosen(UnsafeBufferPointer(start: data, count: size))
            return 0
        }
    }

    nonisolated(unsafe) private static var chosen: (UnsafeBufferPointer<UInt8>) -> Void = { _ in }
    #endif

    /// Runs each file named on the command line through `target`.
    public static func replay(_ target: (UnsafeBufferPointer<UInt8>) -> Void) throws {
        for path in CommandLine.arguments.dropFirst() {
            let data = try Data(contentsOf: URL(fileURLWithPath: path))
            data.withUnsafeBytes { target($0.bindMemory(to: UInt8.self)) }
        }
    }

    /// The target the environment's `FUZZ_TARGET` names; stops with the choices otherwise.
    public static func target<T: RawRepresentable & CaseIterable>(_: T.Type) -> T where T.RawValue == String {
        let name = ProcessInfo.processInfo.environment["FUZZ_TARGET"] ?? ""
        guard let target = T(rawValue: name) else {
            fatalError("FUZZ_TARGET must be one of \(T.allCases.map(\.rawValue).joined(separator: ", ")), got \"\(name)\"")
        }
        return target
    }
}

#if FUZZING
@_silgen_name("LLVMFuzzerRunDriver")
private func runDriver(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
                       _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt
#endif
