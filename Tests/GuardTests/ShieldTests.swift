import Detection
import Telemetry
import Testing
import Vocabulary

/// What the operator said never to ban stays unbanned: by hand, and when its IPv6 /64 floods.
@Suite struct Shields {
    let t0 = 1_795_687_200.0

    func flood(_ engine: inout GuardEngine, _ address: String, group: String) -> [GuardDecision] {
        for index in 0..<400 {
            engine.ingest(ClientEvent(timestamp: t0 + Double(index) / 100, client: IPAddress(group)!, status: 200, address: IPAddress(address)!))
        }
        return engine.drain().filter { $0.action == .ban }
    }

    @Test func aFloodingSlash64ThatHoldsAnAllowListedHostIsNeverBanned() {
        var config = GuardConfig()
        config.allow.append(CIDR("2001:db8:0:1::10")!)
        var engine = GuardEngine(config: config)
        // Another host of the allow-listed host's /64 floods: banning the /64 would lock the allowed host out.
        #expect(flood(&engine, "2001:db8:0:1::99", group: "2001:db8:0:1::").isEmpty)
        // A /64 with no allowed host in it is banned for the same flood.
        #expect(flood(&engine, "2001:db8:0:2::99", group: "2001:db8:0:2::").map(\.ip) == [IPAddress("2001:db8:0:2::")])
    }

    @Test(arguments: ["127.0.0.1", "::1", "10.0.0.7"])
    func manualBansOfShieldedAddressesAreRefused(address: String) {
        var config = GuardConfig()
        config.protected = [CIDR("10.0.0.0/24")!]
        var engine = GuardEngine(config: config)
        #expect(engine.banManually(BanTarget(address)!, at: Int(t0), length: 600) == nil)
        #expect(engine.banManually(BanTarget("203.0.113.9")!, at: Int(t0), length: 600)?.action == .ban)
    }
}

@Suite struct OffenderRecord {
    @Test func forgivenOffendersAreForgottenBannedOnesKept() {
        var book = BanBook(schedule: [600, nil], forgiveAfter: 3600)
        book.ban(BanTarget("203.0.113.1")!, at: 0, reason: "flood")
        book.ban(BanTarget("203.0.113.2")!, at: 0, reason: "flood", length: .some(nil))  // permanent: stays banned
        book.ban(BanTarget("203.0.113.3")!, at: 3000, reason: "flood")
        _ = book.expire(at: 4000)
        #expect(book.forgetForgiven(at: 4000) == 1)
        #expect(book.offenderCount == 2)
        #expect(book.offences(BanTarget("203.0.113.3")!, at: 4000) == 1)
    }
}
