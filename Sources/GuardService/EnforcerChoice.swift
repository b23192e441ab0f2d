import Foundation
import Firewall
import Logging
import Manifest
import Spawn
import Telemetry
import Vocabulary

#if canImport(Glibc)
import Glibc
#endif

/// Chooses the firewall back end: the manifest's, when this process may use it; otherwise dry-run,
/// saying why.
public enum EnforcerChoice {
    public static func make(_ kind: EnforcerKind, namespace: String? = nil, say: (String) -> Void) -> any Enforcer {
        let commands = FirewallCommands(namespace: namespace)
        let binary = ["nftables": "nft", "ipset": "ipset", "iptables": "iptables"][kind.rawValue]
        if kind == .dryRun { say("guard: enforcer dry-run: bans are logged, the firewall is not touched"); return DryRunEnforcer(log: { print($0) }) }
        guard getuid() == 0 else {
            say("guard: enforcer dry-run: \(kind.rawValue) needs root (or CAP_NET_ADMIN); run as root for kernel bans")
            return DryRunEnforcer(log: { print($0) })
        }
        if let binary, (try? ChildProcess.resolve(binary)) == nil {
            say("guard: enforcer dry-run: \(binary) is not installed (scripts/setup.sh installs it)")
            return DryRunEnforcer(log: { print($0) })
        }
        say("guard: enforcer \(kind.rawValue): bans go into the kernel firewall")
        switch kind {
        case .nftables: return NFTablesEnforcer(commands: commands)
        case .ipset: return IPSetEnforcer(commands: commands)
        case .iptables: return IPTablesEnforcer(commands: commands)
        case .dryRun: return DryRunEnforcer()
        }
    }
}
