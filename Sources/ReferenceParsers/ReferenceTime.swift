import Foundation

/// Plain twins of the guard's time parsers: a regular expression for the fields and Foundation's
/// Gregorian calendar for the arithmetic, sharing nothing with the byte-level code they check.
public enum ReferenceTime {
    static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// `26/Nov/2026:02:30:00 +0000` → seconds since the epoch; nil when it is not such a time.
    public static func combined(_ text: String) -> Double? {
        let pattern = #/^(\d{2})/([A-Z][a-z]{2})/(\d{4}):(\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2})$/#
        guard let match = text.wholeMatch(of: pattern), let month = months.firstIndex(of: String(match.2)) else { return nil }
        let sign = match.7 == "+" ? 1 : -1
        return date(year: Int(match.3)!, month: month + 1, day: Int(match.1)!, hour: Int(match.4)!, minute: Int(match.5)!,
                    second: Int(match.6)!, zoneHours: Int(match.8)!, zoneMinutes: Int(match.9)!, sign: sign)
    }

    /// `2026-01-01T12:00:07[.fff][Z|±hh:mm|±hhmm|±hh]` (or a space for the `T`) → seconds, fraction dropped.
    public static func iso8601(_ text: String) -> Double? {
        let pattern = #/^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(Z|([+-])(\d{2})(?::?(\d{2}))?)?$/#
        guard let match = text.wholeMatch(of: pattern) else { return nil }
        var sign = 1, zoneHours = 0, zoneMinutes = 0
        if let zone = match.7, zone != "Z" {
            sign = match.8 == "-" ? -1 : 1
            zoneHours = Int(match.9!)!
            zoneMinutes = match.10.map { Int($0)! } ?? 0
            // `+01:0` and `+010` are neither form.
            let rest = zone.dropFirst(3)
            guard rest.isEmpty || rest.count == 2 || (rest.count == 3 && rest.first == ":") else { return nil }
        }
        return date(year: Int(match.1)!, month: Int(match.2)!, day: Int(match.3)!, hour: Int(match.4)!, minute: Int(match.5)!,
                    second: Int(match.6)!, zoneHours: zoneHours, zoneMinutes: zoneMinutes, sign: sign)
    }

    /// The instant of a civil time in a fixed zone, by Foundation's calendar; nil for a field out of
    /// range or a day the month lacks (the calendar would roll 31 February into March).
    static func date(year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int,
                     zoneHours: Int, zoneMinutes: Int, sign: Int) -> Double? {
        guard hour < 24, minute < 60, second < 60, zoneHours < 24, zoneMinutes < 60,
              let zone = TimeZone(secondsFromGMT: sign * (zoneHours * 3600 + zoneMinutes * 60)) else { return nil }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        let components = DateComponents(calendar: calendar, timeZone: zone, year: year, month: month, day: day,
                                        hour: hour, minute: minute, second: second)
        guard components.isValidDate(in: calendar), let date = calendar.date(from: components) else { return nil }
        return date.timeIntervalSince1970.rounded()
    }
}
