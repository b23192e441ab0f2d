/// How cohorts are judged (`guard.cohorts`; docs/guard.md "Cohorts").
public struct CohortSettings: Sendable, Equatable {
    /// Seconds of evidence a look counts (a scraper's address may ask once in ten minutes).
    public var window = 1800
    /// Seconds of log time between two looks.
    public var every = 60
    /// Least naked addresses (pages, no asset) for a /24 or a /48 to be flagged; an autonomous
    /// system needs twice as many, a /16 three times, being larger.
    public var minimumAddresses = 5
    /// Least share of a cohort's browser addresses that are naked…
    public var nakedShare = 0.6
    /// …and at least this many times the share the site's own visitors show.
    public var normalMultiple = 3.0
    /// Addresses louder than this (pages in the window) are the per-client rules' business.
    public var quietPages: UInt32 = 60
    /// Seconds a cohort stays flagged after the last look that found it.
    public var hold = 1800
    /// Browser visitors outside flagged cohorts a look needs to learn the site's normal share from.
    public var learnFrom = 50
    /// How far each look moves the learned share towards what it saw (about an hour's memory).
    public var learningRate = 0.02
    /// Seconds a /24 or /48 must stay flagged, every browser address in it naked, before it is
    /// banned as a range (on the ban schedule, escalating); nil: cohorts are never banned.
    public var banAfter: Int? = 900

    public init() {}
}
