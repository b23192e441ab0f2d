import Foundation
import Spawn
import TestSupport
import Testing

/// Private files are born private and never written through a link (issue 27, H2/H3): another
/// user watching the folder with inotify never sees one readable, and a link planted where the file
/// goes is never followed.
@Suite struct PrivateFiles {
    func mode(_ path: String) -> mode_t {
        var status = stat()
        lstat(path, &status)
        return status.st_mode & 0o7777
    }

    @Test func aWatcherNeverSeesAFileOthersCouldRead() throws {
        let folder = TestSupport.temporaryDirectory("private-watch")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let watch = inotify_init1(Int32(IN_CLOEXEC | IN_NONBLOCK))
        #expect(watch >= 0)
        defer { close(watch) }
        _ = inotify_add_watch(watch, folder, UInt32(IN_CREATE | IN_MOVED_TO | IN_MODIFY | IN_CLOSE_WRITE))
        var seen: [String: mode_t] = [:], readable: [String] = []
        func drain() {
            var buffer = [UInt8](repeating: 0, count: 64 * 1024)
            while true {
                let count = buffer.withUnsafeMutableBytes { read(watch, $0.baseAddress, $0.count) }
                guard count > 0 else { return }
                var offset = 0
                while offset < count {
                    let (length, name) = buffer.withUnsafeBytes { raw -> (Int, String) in
                        let event = raw.load(fromByteOffset: offset, as: inotify_event.self)
                        let name = String(cString: Array(raw[(offset + 16)..<(offset + 16 + Int(event.len))]) + [0])
                        return (16 + Int(event.len), name)
                    }
                    offset += length
                    let current = mode("\(folder)/\(name)")
                    seen[name] = current
                    if current & 0o077 != 0 { readable.append("\(name) \(String(current, radix: 8))") }
                }
            }
        }
        for round in 0..<200 {
            try PrivateFile.replace("\(folder)/key.pem", with: Array("secret \(round)\n".utf8))
            try PrivateFile.append("\(folder)/history.jsonl", Array("{\"round\":\(round)}\n".utf8))
            drain()
        }
        #expect(readable.isEmpty, "readable by others at some moment: \(readable.prefix(5))")
        #expect(seen.keys.contains { $0.hasSuffix(".tmp") }, "the watcher saw the temporary files too")
        #expect(mode("\(folder)/key.pem") == 0o600 && mode("\(folder)/history.jsonl") == 0o600)
        #expect(try String(contentsOfFile: "\(folder)/key.pem", encoding: .utf8) == "secret 199\n")
    }

    @Test func aLinkWhereTheFileGoesIsNeverFollowed() throws {
        let folder = TestSupport.temporaryDirectory("private-links")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let victim = "\(folder)/root-only"
        try "untouched\n".write(toFile: victim, atomically: false, encoding: .utf8)
        chmod(victim, 0o600)
        // A link in place of the file: replaced by the file, its target untouched.
        symlink(victim, "\(folder)/stack.json")
        try PrivateFile.replace("\(folder)/stack.json", with: Array("{}".utf8))
        #expect(try String(contentsOfFile: victim, encoding: .utf8) == "untouched\n")
        #expect(mode("\(folder)/stack.json") == 0o600)
        // Appending through a link or to a second name of another file is refused.
        symlink(victim, "\(folder)/history.jsonl")
        #expect(throws: PrivateFile.Failure.self) { try PrivateFile.append("\(folder)/history.jsonl", Array("x\n".utf8)) }
        link(victim, "\(folder)/hard.jsonl")
        #expect(throws: PrivateFile.Failure.self) { try PrivateFile.append("\(folder)/hard.jsonl", Array("x\n".utf8)) }
        #expect(try String(contentsOfFile: victim, encoding: .utf8) == "untouched\n")
        // A folder that is a link is not written into.
        symlink(folder, "\(folder)-link")
        defer { unlink("\(folder)-link") }
        #expect(throws: PrivateFile.Failure.self) { try PrivateFile.replace("\(folder)-link/key.pem", with: [1]) }
    }
}
