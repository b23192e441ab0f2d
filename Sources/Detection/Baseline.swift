import Vocabulary
/// The site's normal: per-second global request counts (seconds without requests count as zero)
/// over a rolling window, summarised as mean and population standard deviation on a timer; the
/// same for the error rate; and 24 hourly slots, the current hour preferred once it holds
/// `minPoints` minutes of data.
public struct Baseline: Sendable {
    public struct Summary: Sendable, Equatable, Codable {
        public var mean: Double
        public var stddev: Double
        public var errorRate: Double
        public var points: Int
        /// Which data it came from: "rolling" or "hour 14".
        public var source: String

        public init(mean: Double, stddev: Double, errorRate: Double, points: Int, source: String) {
            (self.mean, self.stddev, self.errorRate, self.points, self.source) = (mean, stddev, errorRate, points, source)
        }
    }

    let window: Int
    let minPoints: Int
    let meanFloor: Double
    private var counts: [Int]
    private var errorCounts: [Int]
    private var firstSecond: Int?
    private var newest = Int.min
    private var pendingCount = 0, pendingErrors = 0
    public private(set) var hourly = [Accumulator](repeating: Accumulator(), count: 24)
    public private(set) var current: Summary?

    /// One hour-of-day slot: the per-second counts of the latest day that reached it.
    public struct Accumulator: Sendable, Equatable, Codable {
        public var points = 0, sum = 0.0, squares = 0.0, requests = 0, errors = 0
        public var day = Int.min

        public init(points: Int = 0, sum: Double = 0, squares: Double = 0, requests: Int = 0, errors: Int = 0, day: Int = Int.min) {
            (self.points, self.sum, self.squares, self.requests, self.errors, self.day) = (points, sum, squares, requests, errors, day)
        }

        /// Mean requests per second in this hour.
        public var mean: Double { points == 0 ? 0 : sum / Double(points) }
    }

    /// One closed second of the rolling window.
    public struct Second: Sendable, Equatable, Codable {
        public var second: Int
        public var requests: Int
        public var errors: Int

        public init(second: Int, requests: Int, errors: Int) {
            (self.second, self.requests, self.errors) = (second, requests, errors)
        }
    }

    /// What the store keeps so a restarted guard resumes where it stopped instead of relearning.
    public struct Snapshot: Sendable, Equatable {
        public var first: Int?
        public var newest: Int
        public var pendingCount: Int
        public var pendingErrors: Int
        /// Closed seconds, oldest first.
        public var seconds: [Second]
        /// The 24 hour-of-day slots, index = hour (UTC).
        public var hours: [Accumulator]

        public init(first: Int?, newest: Int, pendingCount: Int, pendingErrors: Int, seconds: [Second], hours: [Accumulator]) {
            (self.first, self.newest, self.pendingCount, self.pendingErrors) = (first, newest, pendingCount, pendingErrors)
            (self.seconds, self.hours) = (seconds, hours)
        }
    }

    public init(window: Int, minPoints: Int, meanFloor: Double) {
        self.window = max(1, window)
        self.minPoints = minPoints
        self.meanFloor = meanFloor
        counts = [Int](repeating: 0, count: self.window)
        errorCounts = [Int](repeating: 0, count: self.window)
    }

    /// Adds one learnable request (banned, allow-listed and anomalous clients are never passed in).
    @inline(__always)
    public mutating func add(at second: Int, error: Bool) { add(at: second, requests: 1, errors: error ? 1 : 0) }

    /// Adds `requests` learnable requests of one second, `errors` of them failed (a site's second,
    /// summed over its edges, arrives whole).
    public mutating func add(at second: Int, requests: Int, errors: Int) {
        close(upTo: second)
        if second == newest {
            pendingCount += requests
            pendingErrors += errors
        } else if second > newest - window, let first = firstSecond, second >= first {
            // A late line (nginx stamps a request when it ends; the clock may have ticked since):
            // counted in its own, already closed, second and that second's hour.
            let slot = ((second % window) + window) % window
            let before = counts[slot]
            counts[slot] += requests
            errorCounts[slot] += errors
            let hour = ((second / 3600) % 24 + 24) % 24
            if hourly[hour].day == second / 86400 {
                hourly[hour].sum += Double(requests)
                hourly[hour].squares += Double(requests * (2 * before + requests))
                hourly[hour].requests += requests
                hourly[hour].errors += errors
            }
        }
    }

    /// Closes every second before `second`, including empty ones, into the ring and the hourly slots.
    public mutating func close(upTo second: Int) {
        if firstSecond == nil { firstSecond = second; newest = second; return }
        guard second > newest else { return }
        let gap = min(second - newest, window + 1)
        for offset in 0..<gap {
            let closing = second - gap + offset
            let (count, errors) = closing == newest ? (pendingCount, pendingErrors) : (0, 0)
            let slot = ((closing % window) + window) % window
            counts[slot] = count
            errorCounts[slot] = errors
            let hour = ((closing / 3600) % 24 + 24) % 24, day = closing / 86400
            if hourly[hour].day != day { hourly[hour] = Accumulator(); hourly[hour].day = day }
            hourly[hour].points += 1
            hourly[hour].sum += Double(count)
            hourly[hour].squares += Double(count * count)
            hourly[hour].requests += count
            hourly[hour].errors += errors
        }
        newest = second
        pendingCount = 0
        pendingErrors = 0
    }

    /// The newest closed second (the chart's newest point).
    public var lastClosed: Second? {
        guard let first = firstSecond, newest - 1 >= first else { return nil }
        let slot = (((newest - 1) % window) + window) % window
        return Second(second: newest - 1, requests: counts[slot], errors: errorCounts[slot])
    }

    /// Recomputes the summary as of `second` (called on the recalc timer, not per line).
    @discardableResult
    public mutating func recalc(at second: Int) -> Summary? {
        close(upTo: second)
        guard let first = firstSecond else { return nil }
        let points = min(window, second - first)
        guard points > 0 else { return nil }
        let hour = ((second / 3600) % 24 + 24) % 24
        let slot = hourly[hour]
        if slot.points >= minPoints * 60 && slot.day == second / 86400 {
            let mean = slot.sum / Double(slot.points)
            let variance = max(0, slot.squares / Double(slot.points) - mean * mean)
            current = Summary(mean: max(mean, meanFloor), stddev: variance.squareRoot(),
                              errorRate: slot.requests == 0 ? 0 : Double(slot.errors) / Double(slot.requests), points: slot.points, source: "hour \(hour)")
        } else {
            var sum = 0.0, squares = 0.0, requests = 0, errors = 0
            for back in 1...points {
                let slot = (((second - back) % window) + window) % window
                sum += Double(counts[slot])
                squares += Double(counts[slot] * counts[slot])
                requests += counts[slot]
                errors += errorCounts[slot]
            }
            let mean = sum / Double(points)
            current = Summary(mean: max(mean, meanFloor), stddev: max(0, squares / Double(points) - mean * mean).squareRoot(),
                              errorRate: requests == 0 ? 0 : Double(errors) / Double(requests), points: points, source: "rolling")
        }
        return current
    }

    /// The state as of now; `secondsAfter` limits the closed seconds to those after it (what a
    /// store has not saved yet).
    public func snapshot(secondsAfter: Int? = nil) -> Snapshot {
        var seconds: [Second] = []
        if let first = firstSecond {
            let from = max(first, newest - window, (secondsAfter ?? Int.min) + 1)
            if from < newest {
                seconds.reserveCapacity(newest - from)
                for second in from..<newest {
                    let slot = ((second % window) + window) % window
                    seconds.append(Second(second: second, requests: counts[slot], errors: errorCounts[slot]))
                }
            }
        }
        return Snapshot(first: firstSecond, newest: newest, pendingCount: pendingCount, pendingErrors: pendingErrors,
                        seconds: seconds, hours: hourly)
    }

    /// Resumes from a snapshot: the same ring, hours and summary as when it was taken.
    public mutating func restore(_ snapshot: Snapshot) {
        guard let first = snapshot.first else { return }
        firstSecond = first
        newest = snapshot.newest
        pendingCount = snapshot.pendingCount
        pendingErrors = snapshot.pendingErrors
        for index in counts.indices { counts[index] = 0; errorCounts[index] = 0 }
        for second in snapshot.seconds where second.second >= newest - window && second.second < newest {
            let slot = ((second.second % window) + window) % window
            counts[slot] = second.requests
            errorCounts[slot] = second.errors
        }
        if snapshot.hours.count == 24 { hourly = snapshot.hours }
        recalc(at: newest)
    }

    /// The same learned data under new settings (a reload changes the window or the floor).
    public mutating func reshape(window: Int, minPoints: Int, meanFloor: Double) {
        guard (max(1, window), minPoints, meanFloor) != (self.window, self.minPoints, self.meanFloor) else { return }
        var rebuilt = Baseline(window: window, minPoints: minPoints, meanFloor: meanFloor)
        rebuilt.restore(snapshot())
        self = rebuilt
    }
}
