import Foundation
import Vocabulary

/// A service's secrets (`env_file:`): `KEY=VALUE` lines, `#` comments and blank lines, values
/// optionally in quotes. Only its owner may read it (0600, or stricter), so a refusal is the rule
/// for a file others could read. Values are read when an instance starts and passed to it alone:
/// never stored by the tool, never printed; errors name the file and the line, never a value.
public enum EnvFile {
    /// Why the file cannot serve as an env_file, or nil when it can.
    public static func problem(at path: String) -> String? {
        do {
            _ = try read(path)
            return nil
        } catch {
            return error.description
        }
    }

    /// The variables, in file order of keys (the last line wins for a repeated key).
    public static func read(_ path: String) throws(EnvFileError) -> [String: String] {
        let bytes: [UInt8]
        do { bytes = try SecretFile.read(path) } catch { throw EnvFileError(description: error.description) }
        guard let text = String(validating: bytes, as: UTF8.self) else { throw EnvFileError(description: "cannot read \(path) as UTF-8 text") }
        var values: [String: String] = [:]
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            var line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            if line.hasPrefix("export ") { line = String(line.dropFirst(7)).trimmingCharacters(in: .whitespaces) }
            guard let equals = line.firstIndex(of: "=") else {
                throw EnvFileError(description: "\(path):\(index + 1): expected KEY=VALUE (the line's text is not shown: it may be a secret)")
            }
            let key = String(line[..<equals]).trimmingCharacters(in: .whitespaces)
            guard let first = key.first, first.isLetter || first == "_", key.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }) else {
                throw EnvFileError(description: "\(path):\(index + 1): a variable name is letters, digits and _, not starting with a digit")
            }
            var value = String(line[line.index(after: equals)...]).trimmingCharacters(in: .whitespaces)
            if value.count >= 2, let quote = value.first, ["\"", "'"].contains(quote), value.last == quote {
                value = String(value.dropFirst().dropLast())
            }
            values[key] = value
        }
        return values
    }
}

/// An env_file that cannot be used: where, and what to do (never its values).
public struct EnvFileError: Error, Sendable, CustomStringConvertible {
    public let description: String
    public init(description: String) { self.description = description }
}
