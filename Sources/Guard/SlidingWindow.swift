/// Requests and errors over the last `length` seconds, sliding per second: a ring of per-second
/// buckets with running totals, advanced lazily when touched.
public struct SlidingWindow: Sendable {
    public let length: Int
    private var requests: [UInt16]
    private var errors: [UInt16]
    /// The second the newest bucket belongs to.
    private(set) var newest: Int = Int.min
    public private(set) var requestTotal = 0
    public private(set) var errorTotal = 0

    public init(length: Int) {
        self.length = max(1, length)
        requests = [UInt16](repeating: 0, count: self.length)
        errors = [UInt16](repeating: 0, count: self.length)
    }

    /// Moves the window so that `second` is its newest second, forgetting what fell out.
    public mutating func advance(to second: Int) {
        guard second > newest else { return }
        if newest == Int.min || second - newest >= length {
            for index in 0..<length { requests[index] = 0; errors[index] = 0 }
            requestTotal = 0
            errorTotal = 0
        } else {
            for expired in (newest + 1)...second {
                let slot = expired % length
                requestTotal -= Int(requests[slot])
                errorTotal -= Int(errors[slot])
                requests[slot] = 0
                errors[slot] = 0
            }
        }
        newest = second
    }

    /// Counts one request at `second` (a second older than the window is ignored).
    public mutating func add(at second: Int, error: Bool) {
        advance(to: second)
        guard second > newest - length else { return }
        let slot = ((second % length) + length) % length
        if requests[slot] < UInt16.max {
            requests[slot] += 1
            requestTotal += 1
        }
        if error, errors[slot] < UInt16.max {
            errors[slot] += 1
            errorTotal += 1
        }
    }

    /// Requests per second over the window.
    public var rate: Double { Double(requestTotal) / Double(length) }
    public var errorRate: Double { requestTotal == 0 ? 0 : Double(errorTotal) / Double(requestTotal) }
    public var isIdle: Bool { requestTotal == 0 }
}
