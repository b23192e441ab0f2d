/// What one log line met, for `guard replay --verdicts`: one JSON object per input line, in order.
public struct RequestVerdict: Sendable, Equatable, Encodable {
    /// The cohort behind a throttle or challenge.
    public struct Cohort: Sendable, Equatable, Encodable {
        public var key: String
        public var addresses: Int
        public var naked: Int
        public var share: Double
        public var normalShare: Double

        public init(_ finding: CohortWatch.Finding) {
            key = finding.key.description
            (addresses, naked) = (finding.addresses, finding.naked)
            share = (finding.share * 1000).rounded() / 1000
            normalShare = (finding.normalShare * 1000).rounded() / 1000
        }

        enum CodingKeys: String, CodingKey { case key, addresses, naked, share, normalShare = "normal_share" }
    }

    /// The line's number in the input, from 1.
    public var line = 0
    public var at: String?
    public var ip: String?
    /// nil for a line that does not parse (`problem` says so).
    public var verdict: CohortVerdict? = .pass
    public var why: String?
    public var cohort: Cohort?
    public var problem: String?

    public init(at: String?, ip: String?) { (self.at, self.ip) = (at, ip) }

    /// A line the guard cannot read: said, not skipped.
    public static func unreadable(line: Int, format: String) -> RequestVerdict {
        var verdict = RequestVerdict(at: nil, ip: nil)
        (verdict.line, verdict.verdict, verdict.problem) = (line, nil, "does not parse as \(format)")
        return verdict
    }

    /// Always `line`, `verdict` (null for an unreadable line) and `ip`; the rest when there is one.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(line, forKey: .line)
        try container.encode(verdict, forKey: .verdict)
        try container.encode(ip, forKey: .ip)
        try container.encodeIfPresent(at, forKey: .at)
        try container.encodeIfPresent(why, forKey: .why)
        try container.encodeIfPresent(cohort, forKey: .cohort)
        try container.encodeIfPresent(problem, forKey: .problem)
    }

    enum CodingKeys: String, CodingKey { case line, at, ip, verdict, why, cohort, problem }
}
