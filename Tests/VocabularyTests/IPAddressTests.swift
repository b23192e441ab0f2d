import Testing

@testable import Vocabulary

@Suite struct IPAddressParsing {
    @Test(arguments: [
        ("203.0.113.9", "203.0.113.9"),
        ("::1", "::1"),
        ("2001:DB8::1", "2001:db8::1"),
        ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),
        ("fe80::1%eth0", "fe80::1"),
        ("::ffff:192.0.2.1", "192.0.2.1"),
        ("::", "::"),
        ("1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"),
    ])
    func normalises(text: String, expected: String) throws {
        #expect(try #require(IPAddress(text)).description == expected)
    }

    @Test(arguments: ["", "1.2.3", "1.2.3.256", "1.2.3.4.5", "a.b.c.d", ":::", "1::2::3", "12345::", "1:2:3:4:5:6:7:8:9", "example.com", "1.2.3.4 "])
    func rejects(text: String) {
        #expect(IPAddress(text) == nil)
    }

    @Test func cidrMatching() throws {
        let v4 = try #require(CIDR("10.1.2.3/8"))
        #expect(v4.description == "10.0.0.0/8")
        #expect(v4.contains(IPAddress("10.200.0.1")!))
        #expect(!v4.contains(IPAddress("11.0.0.1")!))
        #expect(!v4.contains(IPAddress("::a01:203")!))
        let v6 = try #require(CIDR("2001:db8::/32"))
        #expect(v6.contains(IPAddress("2001:db8:ffff::1")!))
        #expect(!v6.contains(IPAddress("2001:db9::1")!))
        #expect(CIDR("::1")?.prefix == 128)
        #expect(CIDR("1.2.3.4/33") == nil)
        #expect(CIDR("1.2.3.4/") == nil)
        #expect(IPAddress("2001:db8:1:2:3:4:5:6")!.masked(to: 64).description == "2001:db8:1:2::")
    }
}

@Suite struct NetworkOverlap {
    @Test(arguments: [
        ("2001:db8::/64", "2001:db8::", 64, true), ("2001:db8::1", "2001:db8::", 64, true), ("2001:db8::/32", "2001:db8:5::", 64, true),
        ("2001:db8:1::/64", "2001:db8::", 64, false), ("127.0.0.0/8", "127.9.9.9", 32, true), ("127.0.0.0/8", "128.0.0.1", 32, false),
        ("::1", "127.0.0.1", 32, false),
    ])
    func overlapIsOneHoldingTheOther(network: String, address: String, prefix: Int, expected: Bool) {
        #expect(CIDR(network)!.overlaps(IPAddress(address)!, prefix: prefix) == expected)
    }
}

@Suite struct LoopbackHosts {
    @Test(arguments: [("localhost", true), ("LOCALHOST", true), ("127.0.0.1", true), ("127.9.9.9", true), ("::1", true), ("[::1]", true),
                      ("127.evil.example", false), ("128.0.0.1", false), ("::2", false), ("example.com", false), ("", false)])
    func onlyThisHost(host: String, loopback: Bool) {
        #expect(IPAddress.isLoopback(host: host) == loopback)
    }
}
