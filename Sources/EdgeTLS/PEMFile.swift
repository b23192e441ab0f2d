import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Reading and writing the PEM files of a certificate and key, with errors that name the file.
enum PEMFile {
    static func read(_ file: String) throws(EdgeTLSError) -> String {
        do {
            return try String(contentsOfFile: file, encoding: .utf8)
        } catch {
            throw .unreadable(file: file, reason: FileManager.default.fileExists(atPath: file) ? "cannot be read as text (\(error.localizedDescription))" : "no such file")
        }
    }

    /// Writes through a temporary file and a rename, so nginx never reads half a file; `owner`
    /// (uid, gid) is given to the file when set (nginx in a container reads as its own user).
    static func save(_ text: String, to file: String, mode: Int, owner: (uid: UInt32, gid: UInt32)? = nil) throws(EdgeTLSError) {
        let folder = (file as NSString).deletingLastPathComponent.isEmpty ? "." : (file as NSString).deletingLastPathComponent
        let temporary = "\(folder)/.\((file as NSString).lastPathComponent).\(getpid()).tmp"
        func failure(_ what: String) -> EdgeTLSError {
            let reason = "\(what): \(String(cString: strerror(errno)))"
            unlink(temporary)
            return .cannotWrite(file: file, reason: reason)
        }
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        } catch {
            throw .cannotWrite(file: file, reason: "cannot create \(folder): \(error.localizedDescription)")
        }
        guard FileManager.default.createFile(atPath: temporary, contents: Data(text.utf8), attributes: [.posixPermissions: mode]) else {
            throw failure("cannot create \(temporary)")
        }
        if let owner, chown(temporary, owner.uid, owner.gid) != 0 { throw failure("cannot give it to uid \(owner.uid)") }
        guard rename(temporary, file) == 0 else { throw failure("cannot rename \(temporary) to it") }
    }
}
