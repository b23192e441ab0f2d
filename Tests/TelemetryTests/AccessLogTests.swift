import Testing

@testable import Telemetry

@Suite struct AccessLogParsing {
    @Test func readsTheGeneratedFormatInAnyOrder() throws {
        let line = #"{"ua":"curl/8 \"x\"","upstream":"canary","status":503,"time":"2026-01-01T12:00:07+00:00","msec":1767268807.125,"remote_addr":"203.0.113.9","xff":"","method":"GET","uri":"/a?b=1","bytes":12,"request_time":0.250,"upstream_response_time":"0.249","extra":{"nested":[1,2]}}"#
        let entry = try #require(JSONLogLine.parse(line))
        #expect(entry.timestamp == 1767268807.125)
        #expect(entry.status == 503)
        #expect(entry.track == .canary)
        #expect(entry.requestTime == 0.25)
        #expect(entry.remoteAddress == "203.0.113.9")
        #expect(entry.uri == "/a?b=1")
        #expect(entry.userAgent == "curl/8 \"x\"")
    }

    @Test func fallsBackToISOTimeAndDecodesEscapes() throws {
        let entry = try #require(JSONLogLine.parse(#"{"time":"2026-01-01T13:00:07+01:00","status":200,"ua":"a\u00e9\\b"}"#))
        #expect(entry.timestamp == 1767268807)
        #expect(entry.userAgent == "aé\\b")
        #expect(entry.track == nil)
    }

    @Test(arguments: ["", "not json", "{}", #"{"status":200}"#, #"{"msec":1,"status":"abc"}"#, #"{"msec":1,"status":200"#, #"{"msec":1,"status":42}"#])
    func rejectsMalformedLines(line: String) {
        #expect(JSONLogLine.parse(line) == nil)
    }

    @Test func isoTimestamps() {
        #expect(ISO8601.seconds("1970-01-01T00:00:00Z") == 0)
        #expect(ISO8601.seconds("2000-03-01T00:00:00+00:00") == 951868800)
        #expect(ISO8601.seconds("2026-11-26T02:30:00-02:00") == ISO8601.seconds("2026-11-26T04:30:00Z"))
        #expect(ISO8601.seconds("yesterday") == nil)
    }
}

@Suite struct Percentiles {
    @Test func nearestRankIsAnOrderStatistic() {
        let values = (1...100).map(Double.init)
        #expect(Quantile.nearestRank(values, 0.99) == 99)
        #expect(Quantile.nearestRank(values, 0.5) == 50)
        #expect(Quantile.nearestRank([7], 0.99) == 7)
        #expect(Quantile.nearestRank([], 0.99) == nil)
        // One slow request in a hundred is the p99, not smoothed away as a mean would.
        #expect(Quantile.nearestRank([Double](repeating: 1, count: 98) + [900, 1000], 0.99) == 900)
    }

    @Test func histogramQuantileInterpolatesLikePrometheus() {
        let buckets: [(bound: Double, count: Double)] = [(0.1, 50), (0.5, 90), (1, 100), (.infinity, 100)]
        #expect(Quantile.fromHistogram(buckets, 0.5) == 0.1)
        #expect(abs(Quantile.fromHistogram(buckets, 0.7)! - 0.3) < 1e-9)
        #expect(abs(Quantile.fromHistogram(buckets, 0.99)! - 0.95) < 1e-9)
        #expect(Quantile.fromHistogram([(.infinity, 0)], 0.99) == nil)
    }

    @Test func trackStatsOverAWindow() {
        let entries = [
            AccessLogEntry(timestamp: 95, status: 200, requestTime: 0.010, track: .stable),
            AccessLogEntry(timestamp: 96, status: 502, requestTime: 0.020, track: .canary),
            AccessLogEntry(timestamp: 97, status: 200, requestTime: 0.400, track: .canary),
            AccessLogEntry(timestamp: 98, status: 404, requestTime: 0.030, track: .canary),
            AccessLogEntry(timestamp: 60, status: 500, requestTime: 9, track: .canary),  // outside the window
            AccessLogEntry(timestamp: 99, status: 200, requestTime: 0.001, track: nil),
        ]
        let stats = TrackStats.compute(entries, now: 100, window: 30)
        #expect(stats[.canary] == TrackStats(requests: 3, serverErrors: 1, p99LatencyMS: 400, window: 30))
        #expect(stats[.canary]?.errorRate == 1.0 / 3.0)
        #expect(stats[.stable]?.requests == 1)
        #expect(stats[.canary]?.requestsPerSecond == 0.1)
    }
}
