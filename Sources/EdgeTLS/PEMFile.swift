import Foundation
import Spawn

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

    /// Writes through a private temporary file and a rename (`PrivateFile`), so nginx never reads half
    /// a file and no other user ever reads the key; `owner` (uid, gid) is given to the file when set
    /// (nginx in a container reads as its own user).
    static func save(_ text: String, to file: String, mode: Int, owner: (uid: UInt32, gid: UInt32)? = nil) throws(EdgeTLSError) {
        let folder = (file as NSString).deletingLastPathComponent.isEmpty ? "." : (file as NSString).deletingLastPathComponent
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        } catch {
            throw .cannotWrite(file: file, reason: "cannot create \(folder): \(error.localizedDescription)")
        }
        do {
            try PrivateFile.replace(file, with: Array(text.utf8), mode: mode_t(mode), owner: owner)
        } catch {
            throw .cannotWrite(file: file, reason: error.reason)
        }
    }
}
