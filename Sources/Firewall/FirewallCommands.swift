import Foundation
import Spawn
import Vocabulary

/// Runs firewall commands, optionally inside a network namespace (`ip netns exec NAME`).
public struct FirewallCommands: Sendable {
    public let namespace: String?

    public init(namespace: String? = nil) { self.namespace = namespace }

    /// The command as started: inside `ip netns exec NAME` when there is a namespace.
    public func wrapping(_ command: FirewallCommand) -> FirewallCommand {
        guard let namespace else { return command }
        var wrapped = command
        wrapped.arguments = ["ip", "netns", "exec", namespace] + command.arguments
        return wrapped
    }

    /// Runs one command; a non-zero exit throws unless the command allows failure. A tool that
    /// cannot be started counts as failed (exit 127, as a shell says) and so throws only then too.
    @discardableResult
    public func run(_ command: FirewallCommand) throws(EnforcerError) -> (status: Int32, output: String) {
        let started = wrapping(command)
        let result: (status: Int32, output: String)
        do {
            // Root runs these: the tool comes from the system's folders, never from a PATH someone else set.
            let program = try ChildProcess.resolve(started.arguments[0], in: ChildProcess.systemDirectories)
            result = try ChildProcess.run([program] + started.arguments.dropFirst(), input: started.input)
        } catch {
            guard command.allowFailure else {
                throw EnforcerError(description: "cannot run \(started.arguments.joined(separator: " ")): \(error)")
            }
            return (127, error.description)
        }
        if result.status != 0 && !command.allowFailure {
            let hint = result.output.contains("Operation not permitted") ? " (the guard needs root or CAP_NET_ADMIN; or use enforcer: dry-run)" : ""
            let words = result.output.trimmingCharacters(in: .whitespacesAndNewlines)
            throw EnforcerError(description: "\(command.arguments.joined(separator: " ")) failed (exit \(result.status)): \(words)\(hint)")
        }
        return result
    }

    /// Runs the steps in order.
    public func run(_ steps: [FirewallStep]) throws(EnforcerError) {
        for step in steps {
            switch step {
            case .run(let command):
                try run(command)
            case .ifFailing(let check, let command):
                if try run(FirewallCommand(check, allowFailure: true)).status != 0 { try run(command) }
            case .whileSucceeding(let check, let command):
                while try run(FirewallCommand(check, allowFailure: true)).status == 0 { try run(command) }
            }
        }
    }

    /// The addresses and ranges in the listings that succeed, read by `parse` (a set or chain that
    /// does not exist lists nothing).
    public func addresses(listing: [FirewallCommand], parse: (String) -> Set<CIDR>) throws(EnforcerError) -> Set<CIDR> {
        var addresses = Set<CIDR>()
        for command in listing {
            let result = try run(command)
            if result.status == 0 { addresses.formUnion(parse(result.output)) }
        }
        return addresses
    }
}
