/// What a real ban's figures can be, checked wherever a ban arrives from outside this process (another
/// edge through the shared database, a store on disk): times between 2000 and 2100, an end not
/// before the start, an offence number from 1. Figures outside these would trap the arithmetic or
/// keep an address banned for ever.
public enum BanFigures {
    public static let plausibleTimes = 946_684_800..<4_102_444_800
    public static let offences = 1...1_000_000

    /// Why these figures cannot be a ban's; nil when they can.
    public static func problem(since: Int, until: Int?, offence: Int) -> String? {
        guard plausibleTimes.contains(since) else { return "since \(since) is not a time between 2000 and 2100" }
        if let until, !plausibleTimes.contains(until) || until < since {
            return "until \(until) is before since or not a time between 2000 and 2100"
        }
        guard offences.contains(offence) else { return "offence \(offence) is not between 1 and 1,000,000" }
        return nil
    }
}
