import Testing
import Vocabulary

/// The ip-to-ASN table: read as published, errors with file and line, and the binary search
/// against a scan of every block.
@Suite struct NetworkOwnersTable {
    @Test func readsThePublishedLayoutAndSaysWhereALineIsWrong() throws {
        let owners = try NetworkOwners(text: """
            # start end asn country name
            1.0.0.0\t1.0.0.255\t13335\tUS\tCLOUDFLARENET
            1.0.4.0 1.0.7.255 AS38803 AU Wirefreebroadband Pty Ltd
            1.0.8.0\t1.0.15.255\t0\tNone\tNot routed
            2001:db8::\t2001:db8:ffff:ffff:ffff:ffff:ffff:ffff\t64500

            """, file: "asn.tsv")
        #expect(owners.count == 3, "AS 0 is not routed")
        #expect(owners.system(of: IPAddress("1.0.0.77")!) == 13335)
        #expect(owners.system(of: IPAddress("1.0.5.1")!) == 38803)
        #expect(owners.names[38803] == "Wirefreebroadband Pty Ltd")
        #expect(owners.system(of: IPAddress("1.0.9.1")!) == nil)
        #expect(owners.system(of: IPAddress("2001:db8:1::1")!) == 64500)
        #expect(owners.system(of: IPAddress("2001:db9::1")!) == nil)
        #expect(throws: NetworkOwnersError(file: "asn.tsv", line: 2, message: "`1.0.0.9 1.0.0.1` is not a range of one family, start first")) {
            try NetworkOwners(text: "1.0.0.0 1.0.0.255 1\n1.0.0.9 1.0.0.1 2\n", file: "asn.tsv")
        }
        #expect(throws: NetworkOwnersError.self) { try NetworkOwners(text: "1.0.0.0 1.0.0.255 ASX\n", file: "asn.tsv") }
        #expect(throws: NetworkOwnersError.self) { try NetworkOwners(text: "1.0.0.0 ::1 5\n", file: "asn.tsv") }
    }

    /// Random tables of disjoint blocks with gaps: the search answers as a scan of every block does.
    @Test(arguments: [1, 2, 3])
    func searchAgreesWithAScan(seed: UInt64) throws {
        var random = SeededRandom(seed: seed)
        var blocks: [(UInt32, UInt32, UInt32)] = []
        var next: UInt32 = UInt32.random(in: 0...1000, using: &random)
        while blocks.count < 500 {
            let length = UInt32.random(in: 0...5000, using: &random)
            blocks.append((next, next + length, UInt32.random(in: 1...70000, using: &random)))
            next += length + UInt32.random(in: 1...3000, using: &random)
        }
        let text = blocks.shuffled(using: &random).map { "\(IPAddress(v4: $0.0))\t\(IPAddress(v4: $0.1))\t\($0.2)" }.joined(separator: "\n")
        let owners = try NetworkOwners(text: text, file: "t")
        for _ in 0..<5000 {
            let value = UInt32.random(in: 0...(next + 1000), using: &random)
            let scanned = blocks.first { $0.0 <= value && value <= $0.1 }?.2
            #expect(owners.system(of: IPAddress(v4: value)) == scanned, "\(IPAddress(v4: value))")
        }
    }

    /// Nested and equal-start blocks, and CRLF line ends: the most specific block holds the address,
    /// as a scan for the latest-starting, then narrowest, block holding it says.
    @Test(arguments: [7, 8])
    func nestedBlocksAgreeWithAScan(seed: UInt64) throws {
        var random = SeededRandom(seed: seed)
        var blocks: [(UInt32, UInt32, UInt32)] = []
        for _ in 0..<300 {
            let start = UInt32.random(in: 0...100_000, using: &random)
            blocks.append((start, start + UInt32.random(in: 0...20_000, using: &random), UInt32.random(in: 1...70000, using: &random)))
        }
        let text = blocks.map { "\(IPAddress(v4: $0.0)) \(IPAddress(v4: $0.1)) \($0.2)" }.joined(separator: "\r\n")
        let owners = try NetworkOwners(text: text, file: "t")
        #expect(owners.count == blocks.count, "CRLF lines are lines")
        for _ in 0..<3000 {
            let value = UInt32.random(in: 0...125_000, using: &random)
            let holding = blocks.filter { $0.0 <= value && value <= $0.1 }
            let latest = holding.max { ($0.0, $1.1) < ($1.0, $0.1) }
            let expected = holding.filter { $0.0 == latest?.0 && $0.1 == latest?.1 }.map(\.2)
            let found = owners.system(of: IPAddress(v4: value))
            #expect(found == nil ? expected.isEmpty : expected.contains(found!), "\(IPAddress(v4: value))")
        }
    }
}
