/// Why the firewall refused; carries the command and its words.
public struct EnforcerError: Error, Sendable, CustomStringConvertible {
    public let description: String
}
