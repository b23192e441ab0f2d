import Foundation
import Manifest
import Spawn

/// A file could not be written: which one and the likely cause.
public struct FileWriteError: Error, Sendable, CustomStringConvertible {
    public let path: String
    public let reason: String

    public init(path: String, reason: String) { (self.path, self.reason) = (path, reason) }

    public var description: String { "cannot write \(path): \(reason)" }
}

/// Atomic writes with messages that name the file and the likely cause.
public enum FileWriter {
    /// - Parameter privately: readable by the owner only (0600), from the moment the file exists.
    public static func write(_ text: String, to file: String, privately: Bool = false) throws(FileWriteError) {
        let path = ManifestLoader.absolutePath(file, relativeTo: FileManager.default.currentDirectoryPath)
        do {
            try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            if privately {
                do {
                    try PrivateFile.replace(path, with: Array(text.utf8))
                } catch {
                    throw FileWriteError(path: path, reason: error.reason)
                }
            } else {
                try Data(text.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
            }
        } catch {
            let reason = (error as NSError).code == NSFileWriteOutOfSpaceError
                ? "the disk is full; free some space and run again"
                : "\(error.localizedDescription) (check the directory exists and is writable)"
            throw FileWriteError(path: path, reason: reason)
        }
    }

    /// Appends `text` to `file` (created with `mode` when new), never through a link.
    public static func append(_ text: String, to file: String, mode: mode_t = 0o644) throws(FileWriteError) {
        do {
            try PrivateFile.append(file, Array(text.utf8), mode: mode)
        } catch {
            throw FileWriteError(path: file, reason: error.reason)
        }
    }

    /// Creates a folder (and those above it) or says which one could not be made and why.
    public static func makeDirectory(_ path: String) throws(ProcessError) {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw ProcessError("cannot create \(path): \(error.localizedDescription)")
        }
    }

    /// Returns false (and leaves the file untouched) when it already holds exactly `text`.
    public static func writeIfChanged(_ text: String, to path: String, privately: Bool = false) throws(FileWriteError) -> Bool {
        if let existing = FileManager.default.contents(atPath: path), existing == Data(text.utf8) { return false }
        try write(text, to: path, privately: privately)
        return true
    }
}
