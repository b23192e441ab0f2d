import EdgeRules
import Foundation
import Telemetry
import Testing
import Vocabulary

/// User metrics (`canary_safety.metrics`) measured on generated traffic, against figures the test
/// counts itself from what it generated.
struct CanaryMetricTests {
    /// Mixed traffic: several paths, methods and statuses, latencies spread over two orders of magnitude.
    static func traffic(seed: UInt64, count: Int) -> [AccessLogEntry] {
        var random = SeededRandom(seed: seed)
        let paths = ["/", "/checkout", "/checkout/pay", "/search", "/static/app.js"]
        let statuses = [200, 200, 200, 201, 302, 404, 429, 500, 502, 503]
        return (0..<count).map { index in
            let path = paths[Int(random.next() % UInt64(paths.count))]
            return AccessLogEntry(timestamp: 1_000 + Double(index) * 0.01, method: random.next() % 3 == 0 ? "POST" : "GET",
                                  uri: path + (random.next() % 2 == 0 ? "?q=\(index)" : ""), status: statuses[Int(random.next() % UInt64(statuses.count))],
                                  requestTime: Double(random.next() % 2000) / 1000, track: .canary)
        }
    }

    @Test(arguments: [UInt64(1), 7, 42])
    func logMetricsMatchACountOfTheGeneratedRequests(seed: UInt64) {
        let entries = Self.traffic(seed: seed, count: 3_000)
        let checkout = entries.filter { $0.uri.hasPrefix("/checkout") && $0.method == "POST" }
        let failed = checkout.filter { $0.status >= 500 }
        let ratio = CanaryMetric(name: "checkout_errors", kind: .ratio, match: ["path": "/checkout*", "method": "POST"], of: ["status": "5xx"])
        #expect(ratio.measure(log: entries, window: 30) == Double(failed.count) / Double(checkout.count))
        let rate = CanaryMetric(name: "searches", kind: .rate, match: ["path": "/search"])
        #expect(rate.measure(log: entries, window: 30) == Double(entries.filter { $0.uri == "/search" || $0.uri.hasPrefix("/search?") }.count) / 30)
        let limited = CanaryMetric(name: "limited", kind: .count, match: ["status": "429"])
        #expect(limited.measure(log: entries, window: 30) == Double(entries.filter { $0.status == 429 }.count))
        // p95 of the search latencies in ms, by nearest rank, counted here by sorting.
        let searchTimes = entries.filter { $0.uri.hasPrefix("/search") }.map { $0.requestTime * 1000 }.sorted()
        let p95 = CanaryMetric(name: "search_p95", kind: .quantile, match: ["path": "/search"], quantile: 0.95)
        #expect(p95.measure(log: entries, window: 30) == searchTimes[Int((0.95 * Double(searchTimes.count)).rounded(.up)) - 1])
        let scaled = CanaryMetric(name: "errors_pct", kind: .ratio, of: ["status": "5xx"], scale: 100)
        #expect(scaled.measure(log: entries, window: 30) == Double(entries.filter { $0.status >= 500 }.count) / Double(entries.count) * 100)
    }

    @Test func nothingToMeasureIsUnmeasuredNotZero() {
        let entries = Self.traffic(seed: 3, count: 200)
        #expect(CanaryMetric(name: "r", kind: .ratio, match: ["path": "/nowhere"], of: ["status": "5xx"]).measure(log: entries, window: 30) == nil)
        #expect(CanaryMetric(name: "q", kind: .quantile, match: ["method": "DELETE"]).measure(log: entries, window: 30) == nil)
        #expect(CanaryMetric(name: "c", kind: .count, match: ["method": "DELETE"]).measure(log: entries, window: 30) == 0)
    }

    @Test func patternsMatchExactlyByPrefixOrByStatusClass() {
        #expect(CanaryMetric.matches("/api/*", "/api/v1/users") && !CanaryMetric.matches("/api/*", "/apiary"))
        #expect(CanaryMetric.matches("5xx", "503") && !CanaryMetric.matches("5xx", "404") && !CanaryMetric.matches("5xx", "5000"))
        #expect(CanaryMetric.matches("POST", "POST") && !CanaryMetric.matches("POST", "POSTX"))
    }

    /// Two scrapes of an app's /metrics: counters and histograms measured over the time between.
    @Test func prometheusMetricsAreMeasuredBetweenTwoScrapes() throws {
        let before = try PrometheusText(parsing: """
            # TYPE http_requests_total counter
            http_requests_total{path="/checkout",status_code="200"} 100
            http_requests_total{path="/checkout",status_code="500"} 4
            http_requests_total{path="/",status_code="200"} 1000
            db_seconds_bucket{le="0.01"} 10
            db_seconds_bucket{le="0.1"} 18
            db_seconds_bucket{le="+Inf"} 20
            queue_depth 7
            """)
        let after = try PrometheusText(parsing: """
            http_requests_total{path="/checkout",status_code="200"} 190
            http_requests_total{path="/checkout",status_code="500"} 14
            http_requests_total{path="/",status_code="200"} 1300
            db_seconds_bucket{le="0.01"} 50
            db_seconds_bucket{le="0.1"} 118
            db_seconds_bucket{le="+Inf"} 120
            queue_depth 3
            queue_depth{shard="b"} 2
            """)
        func measure(_ metric: CanaryMetric) -> Double? { metric.measure(before: before, after: after, seconds: 10) }
        // /checkout: 90 more OK and 10 more failed in 10 s.
        #expect(measure(CanaryMetric(name: "e", source: .prometheus, kind: .ratio, metric: "http_requests_total", match: ["path": "/checkout"],
                                     of: ["status_code": "5xx"])) == 0.1)
        #expect(measure(CanaryMetric(name: "r", source: .prometheus, kind: .rate, metric: "http_requests_total")) == 40)
        #expect(measure(CanaryMetric(name: "c", source: .prometheus, kind: .count, metric: "http_requests_total", match: ["path": "/"])) == 300)
        // 100 new observations: 40 under 10 ms, 60 between 10 and 100 ms. The median is rank 50:
        // 10 of the 60 into the second bucket, so 10 + 90 × 10/60 = 25 ms.
        let median = try #require(measure(CanaryMetric(name: "m", source: .prometheus, kind: .quantile, metric: "db_seconds", quantile: 0.5, scale: 1000)))
        #expect(abs(median - 25) < 1e-9, "\(median)")
        #expect(measure(CanaryMetric(name: "v", source: .prometheus, kind: .value, metric: "queue_depth")) == 5)
        #expect(measure(CanaryMetric(name: "v", source: .prometheus, kind: .value, metric: "absent")) == nil)
        // A counter that went down was reset (the app restarted): its new value is the increase.
        let reset = try PrometheusText(parsing: "http_requests_total{path=\"/\",status_code=\"200\"} 30\n")
        #expect(CanaryMetric(name: "c", source: .prometheus, kind: .count, metric: "http_requests_total", match: ["path": "/"])
            .measure(before: before, after: reset, seconds: 10) == 30)
    }
}
