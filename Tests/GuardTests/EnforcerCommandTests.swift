import Foundation
import Firewall
import Testing
import Vocabulary

/// The exact commands each enforcer sends the kernel, pinned without running them (no root needed).
/// Expected values are what nft, ipset and iptables must be told, written out.
@Suite enum EnforcerCommandTests {
    /// Both families interleaved, a permanent ban, and an IPv6 /64 group.
    static let batch = [
        EnforcedBan(address: IPAddress("203.0.113.9")!, seconds: 600),
        EnforcedBan(address: IPAddress("2001:db8::1")!, seconds: 30),
        EnforcedBan(address: IPAddress("198.51.100.7")!, seconds: nil),
        EnforcedBan(address: IPAddress("2001:db8:1:2::")!, prefix: 64, seconds: 3600),
    ]
    static let one = [EnforcedBan(address: IPAddress("203.0.113.9")!, seconds: 600)]

    static func addresses(_ texts: String...) -> Set<CIDR> { Set(texts.map { CIDR($0)! }) }

    @Suite struct NFTables {
        let nft = NFTablesEnforcer()

        @Test func installIsOneTransactionCreatingTableSetsAndDropRules() {
            #expect(nft.installSteps == [.run(FirewallCommand(["nft", "-f", "-"], input: """
                add table inet swiftdeploy
                add set inet swiftdeploy banned4 { type ipv4_addr; flags timeout; }
                add set inet swiftdeploy banned6 { type ipv6_addr; flags interval, timeout; }
                add set inet swiftdeploy ranges4 { type ipv4_addr; flags interval, timeout; }
                add set inet swiftdeploy ranges6 { type ipv6_addr; flags interval, timeout; }
                add chain inet swiftdeploy input { type filter hook input priority -10; policy accept; }
                add chain inet swiftdeploy forward { type filter hook forward priority -10; policy accept; }
                flush chain inet swiftdeploy input
                flush chain inet swiftdeploy forward
                add rule inet swiftdeploy input ip saddr @banned4 drop
                add rule inet swiftdeploy input ip6 saddr @banned6 drop
                add rule inet swiftdeploy input ip saddr @ranges4 drop
                add rule inet swiftdeploy input ip6 saddr @ranges6 drop
                add rule inet swiftdeploy forward ip saddr @banned4 drop
                add rule inet swiftdeploy forward ip6 saddr @banned6 drop
                add rule inet swiftdeploy forward ip saddr @ranges4 drop
                add rule inet swiftdeploy forward ip6 saddr @ranges6 drop

                """))])
        }

        @Test func banAddsDeletesAndAddsWithTheTimeout() {
            #expect(nft.banCommands(EnforcerCommandTests.one) == [FirewallCommand(["nft", "-f", "-"], input: """
                add element inet swiftdeploy banned4 { 203.0.113.9 }
                delete element inet swiftdeploy banned4 { 203.0.113.9 }
                add element inet swiftdeploy banned4 { 203.0.113.9 timeout 600s }

                """)])
        }

        @Test func batchIsOneTransactionGroupedBySetWithIPv6PrefixesAndPermanentBans() {
            #expect(nft.banCommands(EnforcerCommandTests.batch) == [FirewallCommand(["nft", "-f", "-"], input: """
                add element inet swiftdeploy banned4 { 203.0.113.9, 198.51.100.7 }
                delete element inet swiftdeploy banned4 { 203.0.113.9, 198.51.100.7 }
                add element inet swiftdeploy banned4 { 203.0.113.9 timeout 600s, 198.51.100.7 }
                add element inet swiftdeploy banned6 { 2001:db8::1, 2001:db8:1:2::/64 }
                delete element inet swiftdeploy banned6 { 2001:db8::1, 2001:db8:1:2::/64 }
                add element inet swiftdeploy banned6 { 2001:db8::1 timeout 30s, 2001:db8:1:2::/64 timeout 3600s }

                """)])
        }

        @Test func anIPv6OnlyBatchTouchesOnlyTheIPv6Set() {
            let ban = EnforcedBan(address: IPAddress("2001:db8:1:2::")!, prefix: 64, seconds: nil)
            #expect(nft.banCommands([ban]) == [FirewallCommand(["nft", "-f", "-"], input: """
                add element inet swiftdeploy banned6 { 2001:db8:1:2::/64 }
                delete element inet swiftdeploy banned6 { 2001:db8:1:2::/64 }
                add element inet swiftdeploy banned6 { 2001:db8:1:2::/64 }

                """)])
        }

        /// Ranges go to their own interval sets, so a client inside a banned range is no overlap.
        @Test func rangesGoToTheirOwnSetsBesideClientsInsideThem() {
            let range = EnforcedBan(address: IPAddress("10.0.0.0")!, prefix: 8, isRange: true, seconds: 60)
            let client = EnforcedBan(address: IPAddress("10.1.2.3")!, seconds: 60)
            let range6 = EnforcedBan(address: IPAddress("2001:db8::")!, prefix: 32, isRange: true, seconds: nil)
            #expect(nft.banCommands([range, client, range6]) == [FirewallCommand(["nft", "-f", "-"], input: """
                add element inet swiftdeploy banned4 { 10.1.2.3 }
                delete element inet swiftdeploy banned4 { 10.1.2.3 }
                add element inet swiftdeploy banned4 { 10.1.2.3 timeout 60s }
                add element inet swiftdeploy ranges4 { 10.0.0.0/8 }
                delete element inet swiftdeploy ranges4 { 10.0.0.0/8 }
                add element inet swiftdeploy ranges4 { 10.0.0.0/8 timeout 60s }
                add element inet swiftdeploy ranges6 { 2001:db8::/32 }
                delete element inet swiftdeploy ranges6 { 2001:db8::/32 }
                add element inet swiftdeploy ranges6 { 2001:db8::/32 }

                """)])
            #expect(NFTablesEnforcer.listedAddresses("set ranges4 {\n elements = { 10.0.0.0/8 timeout 1m expires 59s }\n}") == [CIDR("10.0.0.0/8")!])
        }

        @Test func aBanLongerThanNftHoldsIsPermanentInTheKernel() {
            let ban = EnforcedBan(address: IPAddress("192.0.2.1")!, seconds: 100_000_000)
            #expect(nft.banCommands([ban]).first?.input?.contains("add element inet swiftdeploy banned4 { 192.0.2.1 }") == true)
        }

        @Test func aTimeoutIsNeverZeroSeconds() {
            let ban = EnforcedBan(address: IPAddress("192.0.2.1")!, seconds: 0)
            #expect(nft.banCommands([ban]).first?.input?.contains("add element inet swiftdeploy banned4 { 192.0.2.1 timeout 1s }") == true)
        }

        @Test func unbanAddsThenDeletesSoAnExpiredBanIsNoError() {
            #expect(nft.unbanCommands(EnforcerCommandTests.batch) == [FirewallCommand(["nft", "-f", "-"], input: """
                add element inet swiftdeploy banned4 { 203.0.113.9, 198.51.100.7 }
                delete element inet swiftdeploy banned4 { 203.0.113.9, 198.51.100.7 }
                add element inet swiftdeploy banned6 { 2001:db8::1, 2001:db8:1:2::/64 }
                delete element inet swiftdeploy banned6 { 2001:db8::1, 2001:db8:1:2::/64 }

                """)])
        }

        @Test func anEmptyBatchSendsNothing() {
            #expect(nft.banCommands([]).isEmpty)
            #expect(nft.unbanCommands([]).isEmpty)
        }

        @Test func listingReadsBothSetsAndTheirElements() {
            #expect(nft.listCommands == [
                FirewallCommand(["nft", "list", "set", "inet", "swiftdeploy", "banned4"], allowFailure: true),
                FirewallCommand(["nft", "list", "set", "inet", "swiftdeploy", "banned6"], allowFailure: true),
                FirewallCommand(["nft", "list", "set", "inet", "swiftdeploy", "ranges4"], allowFailure: true),
                FirewallCommand(["nft", "list", "set", "inet", "swiftdeploy", "ranges6"], allowFailure: true),
            ])
            let banned4 = """
                table inet swiftdeploy {
                \tset banned4 {
                \t\ttype ipv4_addr
                \t\tflags timeout
                \t\telements = { 198.51.100.7, 203.0.113.9 timeout 10m expires 9m58s180ms,
                \t\t\t     192.0.2.1 timeout 30s expires 29s }
                \t}
                }
                """
            #expect(NFTablesEnforcer.listedAddresses(banned4) == EnforcerCommandTests.addresses("198.51.100.7", "203.0.113.9", "192.0.2.1"))
            let banned6 = """
                table inet swiftdeploy {
                \tset banned6 {
                \t\ttype ipv6_addr
                \t\tflags interval,timeout
                \t\telements = { 2001:db8::1 timeout 30s expires 29s, 2001:db8:1:2::/64 timeout 1h expires 59m59s }
                \t}
                }
                """
            #expect(NFTablesEnforcer.listedAddresses(banned6) == EnforcerCommandTests.addresses("2001:db8::1", "2001:db8:1:2::/64"))
            #expect(NFTablesEnforcer.listedAddresses("table inet swiftdeploy {\n\tset banned4 {\n\t\ttype ipv4_addr\n\t}\n}\n").isEmpty)
        }

        @Test func uninstallDeletesOnlyOurTable() {
            #expect(nft.uninstallSteps == [.run(FirewallCommand(["nft", "delete", "table", "inet", "swiftdeploy"], allowFailure: true))])
            #expect(NFTablesEnforcer(table: "other").uninstallSteps == [.run(FirewallCommand(["nft", "delete", "table", "inet", "other"], allowFailure: true))])
        }
    }

    @Suite struct IPSet {
        let ipset = IPSetEnforcer()

        @Test func installCreatesBothSetsAndEachDropRuleUnlessPresent() {
            #expect(ipset.installSteps == [
                .run(FirewallCommand(["ipset", "create", "swiftdeploy4", "hash:net", "family", "inet", "timeout", "0", "-exist"])),
                .run(FirewallCommand(["ipset", "create", "swiftdeploy6", "hash:net", "family", "inet6", "timeout", "0", "-exist"])),
                .ifFailing(
                    check: ["iptables", "-C", "INPUT", "-m", "set", "--match-set", "swiftdeploy4", "src", "-j", "DROP", "-m", "comment", "--comment", "swiftdeploy"],
                    run: FirewallCommand(["iptables", "-I", "INPUT", "-m", "set", "--match-set", "swiftdeploy4", "src", "-j", "DROP", "-m", "comment", "--comment", "swiftdeploy"])),
                .ifFailing(
                    check: ["iptables", "-C", "FORWARD", "-m", "set", "--match-set", "swiftdeploy4", "src", "-j", "DROP", "-m", "comment", "--comment", "swiftdeploy"],
                    run: FirewallCommand(["iptables", "-I", "FORWARD", "-m", "set", "--match-set", "swiftdeploy4", "src", "-j", "DROP", "-m", "comment", "--comment", "swiftdeploy"])),
                .ifFailing(
                    check: ["ip6tables", "-C", "INPUT", "-m", "set", "--match-set", "swiftdeploy6", "src", "-j", "DROP", "-m", "comment", "--comment", "swiftdeploy"],
                    run: FirewallCommand(["ip6tables", "-I", "INPUT", "-m", "set", "--match-set", "swiftdeploy6", "src", "-j", "DROP", "-m", "comment", "--comment", "swiftdeploy"])),
                .ifFailing(
                    check: ["ip6tables", "-C", "FORWARD", "-m", "set", "--match-set", "swiftdeploy6", "src", "-j", "DROP", "-m", "comment", "--comment", "swiftdeploy"],
                    run: FirewallCommand(["ip6tables", "-I", "FORWARD", "-m", "set", "--match-set", "swiftdeploy6", "src", "-j", "DROP", "-m", "comment", "--comment", "swiftdeploy"])),
            ])
        }

        @Test func banIsOneRestoreWithATimeoutPerEntry() {
            #expect(ipset.banCommands(EnforcerCommandTests.one) == [FirewallCommand(["ipset", "restore", "-exist"], input: "add swiftdeploy4 203.0.113.9 timeout 600\n")])
            // 30 days is more than ipset holds: no timeout (0), lifted by the guard when due.
            let month = EnforcedBan(address: IPAddress("203.0.113.9")!, seconds: 30 * 86_400)
            #expect(ipset.banCommands([month]) == [FirewallCommand(["ipset", "restore", "-exist"], input: "add swiftdeploy4 203.0.113.9 timeout 0\n")])
        }

        @Test func batchGoesToEachFamilysSetAndTimeoutZeroIsPermanent() {
            #expect(ipset.banCommands(EnforcerCommandTests.batch) == [FirewallCommand(["ipset", "restore", "-exist"], input: """
                add swiftdeploy4 203.0.113.9 timeout 600
                add swiftdeploy6 2001:db8::1 timeout 30
                add swiftdeploy4 198.51.100.7 timeout 0
                add swiftdeploy6 2001:db8:1:2::/64 timeout 3600

                """)])
        }

        @Test func unbanDeletesInOneRestore() {
            #expect(ipset.unbanCommands(EnforcerCommandTests.batch) == [FirewallCommand(["ipset", "restore", "-exist"], input: """
                del swiftdeploy4 203.0.113.9
                del swiftdeploy6 2001:db8::1
                del swiftdeploy4 198.51.100.7
                del swiftdeploy6 2001:db8:1:2::/64

                """)])
        }

        @Test func anEmptyBatchSendsNothing() {
            #expect(ipset.banCommands([]).isEmpty)
            #expect(ipset.unbanCommands([]).isEmpty)
        }

        @Test func listingReadsBothSetsAndTheirMembers() {
            #expect(ipset.listCommands == [
                FirewallCommand(["ipset", "list", "swiftdeploy4"], allowFailure: true),
                FirewallCommand(["ipset", "list", "swiftdeploy6"], allowFailure: true),
            ])
            let swiftdeploy4 = """
                Name: swiftdeploy4
                Type: hash:net
                Revision: 7
                Header: family inet hashsize 1024 maxelem 65536 timeout 0 bucketsize 12 initval 0x5d3b5a7e
                Size in memory: 696
                References: 2
                Number of entries: 2
                Members:
                203.0.113.9 timeout 597
                198.51.100.7 timeout 0

                """
            #expect(IPSetEnforcer.listedAddresses(swiftdeploy4) == EnforcerCommandTests.addresses("203.0.113.9", "198.51.100.7"))
            let swiftdeploy6 = "Name: swiftdeploy6\nType: hash:net\nMembers:\n2001:db8:1:2::/64 timeout 3597\n2001:db8::1 timeout 27\n"
            #expect(IPSetEnforcer.listedAddresses(swiftdeploy6) == EnforcerCommandTests.addresses("2001:db8:1:2::/64", "2001:db8::1"))
            #expect(IPSetEnforcer.listedAddresses("Name: swiftdeploy4\nNumber of entries: 0\nMembers:\n").isEmpty)
        }

        @Test func uninstallRemovesEveryCopyOfOurRulesThenTheSets() {
            #expect(ipset.uninstallSteps == [
                .whileSucceeding(
                    check: ["iptables", "-C", "INPUT", "-m", "set", "--match-set", "swiftdeploy4", "src", "-j", "DROP", "-m", "comment", "--comment", "swiftdeploy"],
                    run: FirewallCommand(["iptables", "-D", "INPUT", "-m", "set", "--match-set", "swiftdeploy4", "src", "-j", "DROP", "-m", "comment", "--comment", "swiftdeploy"])),
                .whileSucceeding(
                    check: ["iptables", "-C", "FORWARD", "-m", "set", "--match-set", "swiftdeploy4", "src", "-j", "DROP", "-m", "comment", "--comment", "swiftdeploy"],
                    run: FirewallCommand(["iptables", "-D", "FORWARD", "-m", "set", "--match-set", "swiftdeploy4", "src", "-j", "DROP", "-m", "comment", "--comment", "swiftdeploy"])),
                .run(FirewallCommand(["ipset", "destroy", "swiftdeploy4"], allowFailure: true)),
                .whileSucceeding(
                    check: ["ip6tables", "-C", "INPUT", "-m", "set", "--match-set", "swiftdeploy6", "src", "-j", "DROP", "-m", "comment", "--comment", "swiftdeploy"],
                    run: FirewallCommand(["ip6tables", "-D", "INPUT", "-m", "set", "--match-set", "swiftdeploy6", "src", "-j", "DROP", "-m", "comment", "--comment", "swiftdeploy"])),
                .whileSucceeding(
                    check: ["ip6tables", "-C", "FORWARD", "-m", "set", "--match-set", "swiftdeploy6", "src", "-j", "DROP", "-m", "comment", "--comment", "swiftdeploy"],
                    run: FirewallCommand(["ip6tables", "-D", "FORWARD", "-m", "set", "--match-set", "swiftdeploy6", "src", "-j", "DROP", "-m", "comment", "--comment", "swiftdeploy"])),
                .run(FirewallCommand(["ipset", "destroy", "swiftdeploy6"], allowFailure: true)),
            ])
        }
    }

    @Suite struct IPTables {
        let iptables = IPTablesEnforcer()

        @Test func installCreatesOurChainAndJumpsToItUnlessPresent() {
            #expect(iptables.installSteps == [
                .run(FirewallCommand(["iptables", "-N", "SWIFTDEPLOY"], allowFailure: true)),
                .ifFailing(check: ["iptables", "-C", "INPUT", "-j", "SWIFTDEPLOY"], run: FirewallCommand(["iptables", "-I", "INPUT", "-j", "SWIFTDEPLOY"])),
                .ifFailing(check: ["iptables", "-C", "FORWARD", "-j", "SWIFTDEPLOY"], run: FirewallCommand(["iptables", "-I", "FORWARD", "-j", "SWIFTDEPLOY"])),
                .run(FirewallCommand(["ip6tables", "-N", "SWIFTDEPLOY"], allowFailure: true)),
                .ifFailing(check: ["ip6tables", "-C", "INPUT", "-j", "SWIFTDEPLOY"], run: FirewallCommand(["ip6tables", "-I", "INPUT", "-j", "SWIFTDEPLOY"])),
                .ifFailing(check: ["ip6tables", "-C", "FORWARD", "-j", "SWIFTDEPLOY"], run: FirewallCommand(["ip6tables", "-I", "FORWARD", "-j", "SWIFTDEPLOY"])),
            ])
        }

        @Test func banAppendsOneDropRule() {
            #expect(iptables.banCommands(EnforcerCommandTests.one, present: []) == [
                FirewallCommand(["iptables", "-A", "SWIFTDEPLOY", "-s", "203.0.113.9", "-j", "DROP"]),
            ])
        }

        /// No timeouts in the kernel: permanent and timed bans are the same rule.
        @Test func batchAppendsARulePerFamilyAndSkipsWhatTheChainHolds() {
            #expect(iptables.banCommands(EnforcerCommandTests.batch, present: EnforcerCommandTests.addresses("203.0.113.9")) == [
                FirewallCommand(["ip6tables", "-A", "SWIFTDEPLOY", "-s", "2001:db8::1", "-j", "DROP"]),
                FirewallCommand(["iptables", "-A", "SWIFTDEPLOY", "-s", "198.51.100.7", "-j", "DROP"]),
                FirewallCommand(["ip6tables", "-A", "SWIFTDEPLOY", "-s", "2001:db8:1:2::/64", "-j", "DROP"]),
            ])
        }

        @Test func unbanDeletesOnlyRulesThatArePresent() {
            #expect(iptables.unbanCommands(EnforcerCommandTests.batch, present: EnforcerCommandTests.addresses("203.0.113.9", "2001:db8:1:2::/64")) == [
                FirewallCommand(["iptables", "-D", "SWIFTDEPLOY", "-s", "203.0.113.9", "-j", "DROP"], allowFailure: true),
                FirewallCommand(["ip6tables", "-D", "SWIFTDEPLOY", "-s", "2001:db8:1:2::/64", "-j", "DROP"], allowFailure: true),
            ])
        }

        @Test func listingReadsOurChainsRuleSources() {
            #expect(iptables.listCommands == [
                FirewallCommand(["iptables", "-S", "SWIFTDEPLOY"], allowFailure: true),
                FirewallCommand(["ip6tables", "-S", "SWIFTDEPLOY"], allowFailure: true),
            ])
            let v4 = "-N SWIFTDEPLOY\n-A SWIFTDEPLOY -s 203.0.113.9/32 -j DROP\n-A SWIFTDEPLOY -s 198.51.100.7/32 -j DROP\n"
            #expect(IPTablesEnforcer.listedAddresses(v4) == EnforcerCommandTests.addresses("203.0.113.9", "198.51.100.7"))
            let v6 = "-N SWIFTDEPLOY\n-A SWIFTDEPLOY -s 2001:db8:1:2::/64 -j DROP\n-A SWIFTDEPLOY -s 2001:db8::1/128 -j DROP\n"
            #expect(IPTablesEnforcer.listedAddresses(v6) == EnforcerCommandTests.addresses("2001:db8:1:2::/64", "2001:db8::1"))
            #expect(IPTablesEnforcer.listedAddresses("-N SWIFTDEPLOY\n").isEmpty)
        }

        @Test func uninstallRemovesEveryJumpThenEmptiesAndDeletesOurChain() {
            #expect(iptables.uninstallSteps == [
                .whileSucceeding(check: ["iptables", "-C", "INPUT", "-j", "SWIFTDEPLOY"], run: FirewallCommand(["iptables", "-D", "INPUT", "-j", "SWIFTDEPLOY"])),
                .whileSucceeding(check: ["iptables", "-C", "FORWARD", "-j", "SWIFTDEPLOY"], run: FirewallCommand(["iptables", "-D", "FORWARD", "-j", "SWIFTDEPLOY"])),
                .run(FirewallCommand(["iptables", "-F", "SWIFTDEPLOY"], allowFailure: true)),
                .run(FirewallCommand(["iptables", "-X", "SWIFTDEPLOY"], allowFailure: true)),
                .whileSucceeding(check: ["ip6tables", "-C", "INPUT", "-j", "SWIFTDEPLOY"], run: FirewallCommand(["ip6tables", "-D", "INPUT", "-j", "SWIFTDEPLOY"])),
                .whileSucceeding(check: ["ip6tables", "-C", "FORWARD", "-j", "SWIFTDEPLOY"], run: FirewallCommand(["ip6tables", "-D", "FORWARD", "-j", "SWIFTDEPLOY"])),
                .run(FirewallCommand(["ip6tables", "-F", "SWIFTDEPLOY"], allowFailure: true)),
                .run(FirewallCommand(["ip6tables", "-X", "SWIFTDEPLOY"], allowFailure: true)),
            ])
        }
    }

    /// The runner, with harmless tools standing in for the firewall ones.
    @Suite struct Runner {
        @Test func aNamespacePrefixesIpNetnsExec() {
            let script = FirewallCommand(["nft", "-f", "-"], input: "flush ruleset\n")
            #expect(FirewallCommands(namespace: "sds1").wrapping(script) == FirewallCommand(["ip", "netns", "exec", "sds1", "nft", "-f", "-"], input: "flush ruleset\n"))
            #expect(FirewallCommands().wrapping(script) == script)
        }

        @Test func theScriptGoesToStdinAndAFailureSaysTheCommandAndItsWords() throws {
            #expect(try FirewallCommands().run(FirewallCommand(["cat"], input: "add element\n")).output == "add element\n")
            #expect(try FirewallCommands().run(FirewallCommand(["sh", "-c", "echo no such set; exit 3"], allowFailure: true)) == (3, "no such set\n"))
            let error = #expect(throws: EnforcerError.self) { try FirewallCommands().run(FirewallCommand(["sh", "-c", "echo no such set; exit 3"])) }
            #expect(error?.description == "sh -c echo no such set; exit 3 failed (exit 3): no such set")
            let missing = #expect(throws: EnforcerError.self) { try FirewallCommands().run(FirewallCommand(["swiftdeploy-no-such-tool"])) }
            #expect(missing?.description.hasPrefix("cannot run swiftdeploy-no-such-tool: ") == true)
            #expect(try FirewallCommands().run(FirewallCommand(["swiftdeploy-no-such-tool"], allowFailure: true)).status == 127)
        }

        @Test func stepsAddWhatIsMissingOnceAndRemoveUntilGone() throws {
            let marker = FileManager.default.temporaryDirectory.appendingPathComponent("enforcer-step-\(UUID().uuidString)").path
            let runner = FirewallCommands()
            let add = FirewallStep.ifFailing(check: ["test", "-e", marker], run: FirewallCommand(["sh", "-c", "echo x >> \(marker)"]))
            try runner.run([add, add])
            #expect(try String(contentsOfFile: marker, encoding: .utf8) == "x\n", "added once")
            try runner.run([.whileSucceeding(check: ["test", "-e", marker], run: FirewallCommand(["rm", marker]))])
            #expect(!FileManager.default.fileExists(atPath: marker))
        }
    }
}
