import Foundation
import ReferenceParsers
import Testing
import Vocabulary

@testable import Telemetry

/// The byte-level time parsers against `ReferenceTime` (a regular expression and Foundation's
/// calendar): every day from 1970 to 2100, in zones from −12:00 to +14:00 with half- and
/// quarter-hour ones, read by one parser in an order that jumps between days, months, years and
/// zones, so its cache of a day's midnight is exercised as a real log exercises it.
@Suite struct TimeDifferential {
    static let zones = ["-1200", "-1100", "-0930", "-0800", "-0500", "-0330", "-0100", "+0000", "+0100", "+0200", "+0330",
                        "+0530", "+0545", "+0800", "+0930", "+1000", "+1245", "+1300", "+1400"]
    static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    /// 1970-01-01 … 2100-12-31.
    static let days = 0..<(ISO8601.epoch(year: 2101, month: 1, day: 1) / 86400)

    static func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }

    /// `dd/Mon/yyyy:HH:MM:SS ±zzzz` for a day (days since the epoch) and a second of that day.
    static func combined(day: Int, second: Int, zone: String) -> String {
        let iso = ISO8601.format(day * 86400)
        let parts = iso.prefix(10).split(separator: "-").map { Int($0)! }
        return "\(two(parts[2]))/\(months[parts[1] - 1])/\(parts[0]):\(two(second / 3600)):\(two(second % 3600 / 60)):\(two(second % 60)) \(zone)"
    }

    func fastCombined(_ parser: inout GuardLogParser, _ text: String) -> Double? {
        var bytes = Array(text.utf8)
        return bytes.withUnsafeMutableBufferPointer { parser.time(UnsafeBufferPointer($0)[...]) }
    }

    @Test func everyDayInManyZonesAgreesWithTheCalendar() {
        var random = SeededRandom(seed: 1970)
        var parser = GuardLogParser(format: .combined, resolver: ClientResolver())
        var order = Array(Self.days)
        // Mostly in order (as a log is), with jumps back and forth across months, years and zones.
        for index in stride(from: 0, to: order.count - 40, by: 40) where random.next() % 3 == 0 {
            order.swapAt(index, index + Int(random.next() % 40))
        }
        var disagreements: [String] = []
        for day in order {
            for _ in 0..<2 {
                let zone = Self.zones[Int(random.next() % UInt64(Self.zones.count))]
                let text = Self.combined(day: day, second: Int(random.next() % 86400), zone: zone)
                let fast = fastCombined(&parser, text), reference = ReferenceTime.combined(text)
                if fast != reference { disagreements.append("\(text): fast \(fast.map { "\($0)" } ?? "nil"), reference \(reference.map { "\($0)" } ?? "nil")") }
            }
        }
        #expect(disagreements.isEmpty, "\(disagreements.count) disagreements, first: \(disagreements.prefix(5))")
    }

    @Test func theElevenDaysOfOneMonthAreElevenDays() {
        var parser = GuardLogParser(format: .combined, resolver: ClientResolver())
        let days = [1, 2, 3, 9, 10, 11, 19, 20, 21, 30, 31]
        let times = days.map { fastCombined(&parser, "\(Self.two($0))/Dec/2015:10:00:00 +0000") }
        #expect(times == days.map { Double(ISO8601.epoch(year: 2015, month: 12, day: $0) + 36000) })
    }

    @Test(arguments: [
        "31/Feb/2024:00:00:00 +0000", "30/Feb/2024:00:00:00 +0000", "29/Feb/2100:00:00:00 +0000", "31/Apr/2024:00:00:00 +0000",
        "00/Jan/2024:00:00:00 +0000", "32/Jan/2024:00:00:00 +0000", "01/Jan/2024:24:00:00 +0000", "01/Jan/2024:23:60:00 +0000",
        "01/Jan/2024:23:59:60 +0000", "01/Jan/2024:10:00:00 +2400", "01/Jan/2024:10:00:00 +0160", "01/Foo/2024:10:00:00 +0000",
        "01/dec/2024:10:00:00 +0000", "01/Jan/2024:10:00:00 ~0000", "1/Jan/2024:10:00:00 +00000", "01/Jan/2024 10:00:00 +0000",
        "29/Feb/2000:12:00:00 +0000", "29/Feb/2024:12:00:00 -0930",
    ])
    func invalidAndEdgeTimesAgree(text: String) {
        var parser = GuardLogParser(format: .combined, resolver: ClientResolver())
        // Any cached day first: a rejected date must not borrow it.
        _ = fastCombined(&parser, "28/Feb/2024:00:00:00 +0000")
        let fast = text.utf8.count == 26 ? fastCombined(&parser, text) : nil
        #expect(fast == ReferenceTime.combined(text), "\(text)")
    }

    @Test func isoTimesAgreeWithTheCalendar() {
        var random = SeededRandom(seed: 8601)
        var disagreements: [String] = []
        for day in stride(from: Self.days.lowerBound, to: Self.days.upperBound, by: 3) {
            let base = ISO8601.format(day * 86400 + Int(random.next() % 86400))  // 2027-01-15T08:00:00Z
            let zone = Self.zones[Int(random.next() % UInt64(Self.zones.count))]
            let (sign, hours, minutes) = (zone.prefix(1), zone.dropFirst().prefix(2), zone.suffix(2))
            let forms = ["Z", "\(sign)\(hours):\(minutes)", "\(sign)\(hours)\(minutes)", minutes == "00" ? "\(sign)\(hours)" : "", ""]
            let fraction = random.next() % 2 == 0 ? "" : ".\(random.next() % 1000)"
            let separator = random.next() % 4 == 0 ? " " : "T"
            let text = base.prefix(10) + separator + base.dropFirst(11).prefix(8) + fraction + forms[Int(random.next() % UInt64(forms.count))]
            let fast = ISO8601.seconds(String(text)), reference = ReferenceTime.iso8601(String(text))
            if fast != reference { disagreements.append("\(text): fast \(String(describing: fast)), reference \(String(describing: reference))") }
        }
        #expect(disagreements.isEmpty, "\(disagreements.count) disagreements, first: \(disagreements.prefix(5))")
    }

    @Test(arguments: [
        "2024-02-30T00:00:00Z", "2024-13-01T00:00:00Z", "2024-01-01T24:00:00Z", "2024-01-01T00:00:60Z", "2024-01-01T00:00:00+01:0",
        "2024-01-01T00:00:00+010", "2024-01-01T00:00:00+0100x", "2024-01-01T00:00:00Zx", "2024-01-01T00:00:00.Z", "2024/01/01T00:00:00Z",
        "2024-01-01X00:00:00Z", "2024-01-01T00:00:00+24:00", "2024-01-01T00:00:00-09:30", "2024-01-01 00:00:00", "2024-01-01T00:00:00.123456+05:45",
    ])
    func invalidAndEdgeISOTimesAgree(text: String) {
        #expect(ISO8601.seconds(text) == ReferenceTime.iso8601(text), "\(text)")
    }
}
