import Foundation
import Testing

@testable import Telemetry

/// Lines arrive in pieces of any size; over-long ones are dropped and counted, nothing else is lost.
@Suite struct LineSplitting {
    func split(_ chunks: [String], maxLine: Int = 16) -> (lines: [String], overlong: Int, pending: Int) {
        var splitter = LineSplitter(maxLine: maxLine)
        var lines: [[UInt8]] = []
        for chunk in chunks {
            Array(chunk.utf8).withUnsafeBufferPointer { splitter.split($0, into: &lines) }
        }
        return (lines.map { String(decoding: $0, as: UTF8.self) }, splitter.overlong, splitter.pending)
    }

    @Test func piecesOfAnySizeGiveTheSameLines() {
        let text = "first\nsecond line\n\nthird\npartial"
        for size in 1...text.count {
            let chunks = stride(from: 0, to: text.count, by: size).map { String(Array(text)[$0..<min(text.count, $0 + size)]) }
            let result = split(chunks)
            #expect(result.lines == ["first", "second line", "", "third"], "chunks of \(size)")
            #expect(result.pending == "partial".utf8.count && result.overlong == 0)
        }
    }

    /// The `memchr` splitter against a plain twin (Swift's `split` of the whole text) over generated
    /// texts cut into random pieces: the same lines, the same over-long count.
    @Test func piecesAgreeWithSplittingTheWholeText() {
        var random = SystemRandomNumberGenerator()
        for _ in 0..<2_000 {
            let text = (0..<Int.random(in: 0..<120, using: &random)).map { _ in ["a", "\n", "é", "xxxxxxxx", "\r"].randomElement(using: &random)! }.joined() + "\n"
            let bytes = Array(text.utf8), maxLine = Int.random(in: 1...24, using: &random)
            let complete = bytes.split(separator: 0x0A, omittingEmptySubsequences: false).dropLast()
            let expected = complete.filter { $0.count <= maxLine }.map { String(decoding: $0, as: UTF8.self) }
            var splitter = LineSplitter(maxLine: maxLine)
            var lines: [[UInt8]] = [], start = 0
            while start < bytes.count {
                let end = min(bytes.count, start + Int.random(in: 1...40, using: &random))
                bytes[start..<end].withUnsafeBufferPointer { splitter.split($0, into: &lines) }
                start = end
            }
            let result = (lines: lines.map { String(decoding: $0, as: UTF8.self) }, overlong: splitter.overlong)
            #expect(result.lines == expected && result.overlong == complete.count - expected.count, "\(text.debugDescription) max \(maxLine)")
        }
    }

    @Test func anOverlongLineIsDroppedToItsNewlineAndCounted() {
        let long = String(repeating: "x", count: 40)
        // Arriving whole, and arriving in pieces that each fit but together do not.
        #expect(split(["a\n\(long)\nb\n"]) == (["a", "b"], 1, 0))
        #expect(split(["a\nxxxxxxxxxx", "xxxxxxxxxx", "xxxxxxxxxx\nb\n"]) == (["a", "b"], 1, 0))
        // A runaway line never grows the held bytes past the limit.
        #expect(split(Array(repeating: "xxxxxxxxxx", count: 1000)).pending == 0)
        #expect(split(["exactly16bytes!!\n"]) == (["exactly16bytes!!"], 0, 0))
    }
}

@Suite struct LogTailLinks {
    /// Whoever can write the log's folder must not make root read another file through a link.
    @Test func aLogThatIsALinkIsNeverRead() throws {
        let directory = NSTemporaryDirectory() + "swiftdeploy-link-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try "secret line\n".write(toFile: "\(directory)/shadow", atomically: true, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: "\(directory)/access.log", withDestinationPath: "\(directory)/shadow")
        let tail = LogTail(path: "\(directory)/access.log", startAtEnd: false)
        #expect(tail.poll().isEmpty)
        #expect(tail.refusal?.contains("is a symbolic link") == true)
    }

    /// A second name of another file, a pipe (which would hang a blocking open) or a folder put where
    /// the log should be: refused, nothing read; the real log, once back, is read whole.
    @Test func aHardLinkAPipeOrAFolderIsNeverRead() throws {
        let directory = NSTemporaryDirectory() + "swiftdeploy-link-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let log = "\(directory)/access.log"
        try "secret line\n".write(toFile: "\(directory)/shadow", atomically: true, encoding: .utf8)
        let intruders: [(String, () throws -> Void)] = [
            ("has 2 names", { try FileManager.default.linkItem(atPath: "\(directory)/shadow", toPath: log) }),
            ("is not a regular file", { #expect(mkfifo(log, 0o600) == 0) }),
            ("is not a regular file", { try FileManager.default.createDirectory(atPath: log, withIntermediateDirectories: false) }),
        ]
        for (reason, plant) in intruders {
            try plant()
            let tail = LogTail(path: log, startAtEnd: false)
            #expect(tail.poll().isEmpty)
            #expect(tail.refusal?.contains(reason) == true, "\(tail.refusal ?? "no refusal")")
            try FileManager.default.removeItem(atPath: log)
            try "real line\n".write(toFile: log, atomically: false, encoding: .utf8)
            #expect(tail.poll().map { String(decoding: $0, as: UTF8.self) } == ["real line"])
            #expect(tail.refusal == nil)
            try FileManager.default.removeItem(atPath: log)
        }
    }
}
