import Foundation
import Spawn
import TestSupport
import Testing

/// The Debian package's `postrm purge` on a real kernel firewall, in a network and mount namespace
/// of its own (issue 27): it removes exactly the guard's rules, sets and chain, and never runs what
/// it reads back from the kernel, not even a rule comment someone wrote as shell syntax.
@Suite(.enabled(if: getuid() == 0, "needs root: run scripts/test as root (CI does)"))
struct MaintainerScripts {
    @Test func purgeRemovesOnlyTheGuardsRulesAndRunsNothingItReads() throws {
        let folder = TestSupport.temporaryDirectory("postrm")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let mark = "\(folder)/ran"
        let postrm = "\(OPAServer.repositoryRoot)/packaging/debian/postrm"
        let script = """
            set -e
            mount -t tmpfs none /var/lib
            ipset create swiftdeploy4 hash:net family inet timeout 0
            ipset create swiftdeploy6 hash:net family inet6 timeout 0
            for chain in INPUT FORWARD; do
                iptables -I $chain -m set --match-set swiftdeploy4 src -j DROP -m comment --comment swiftdeploy
                ip6tables -I $chain -m set --match-set swiftdeploy6 src -j DROP -m comment --comment swiftdeploy
            done
            iptables -A INPUT -s 192.0.2.1 -j ACCEPT -m comment --comment 'x --match-set swiftdeploy $(touch \(mark))'
            sh \(postrm) purge
            echo ---
            iptables -S; ip6tables -S; ipset list -n
            """
        let result = try ChildProcess.run(["unshare", "--net", "--mount", "sh", "-c", script])
        #expect(result.status == 0, "\(result.output)")
        let after: String = result.output.components(separatedBy: "---\n").last ?? ""
        #expect(!after.contains("--match-set swiftdeploy4 src -j DROP") && !after.contains("--match-set swiftdeploy6"), "\(after)")
        #expect(!after.contains("\nswiftdeploy4") && !after.hasPrefix("swiftdeploy"), "the sets are gone: \(after)")
        #expect(after.contains("-A INPUT -s 192.0.2.1/32") , "another's rule is left alone: \(after)")
        #expect(!FileManager.default.fileExists(atPath: mark), "nothing read from the kernel was run")
    }
}
