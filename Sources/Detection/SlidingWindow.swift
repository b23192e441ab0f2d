/// Requests and errors over the last `length` seconds, sliding per second. The counting lives in
/// `WindowCounter`, which works on a caller's buckets: the global window owns an array, while the
/// guard keeps every client's buckets in one slab (no allocation or reference counting per client).
public struct SlidingWindow: Sendable {
    public let length: Int
    private var counter = WindowCounter()
    private var buckets: [UInt32]

    public init(length: Int) {
        self.length = max(1, length)
        buckets = [UInt32](repeating: 0, count: self.length)
    }

    public mutating func advance(to second: Int) {
        let length = length
        buckets.withUnsafeMutableBufferPointer { counter.advance(to: second, buckets: $0, length: length) }
    }

    public mutating func add(at second: Int, error: Bool) {
        let length = length
        buckets.withUnsafeMutableBufferPointer { counter.add(at: second, error: error, buckets: $0, length: length) }
    }

    public var requestTotal: Int { Int(counter.requests) }
    public var errorTotal: Int { Int(counter.errors) }
    public var rate: Double { counter.rate(length) }
    public var errorRate: Double { counter.errorRate }
    public var isIdle: Bool { counter.requests == 0 }
}

/// The running totals of one sliding window over `length` per-second buckets held elsewhere; each
/// bucket packs requests (high 16 bits) and errors (low 16 bits).
public struct WindowCounter: Sendable {
    /// The second the newest bucket belongs to.
    public private(set) var newest = Int.min
    public private(set) var requests: Int32 = 0
    public private(set) var errors: Int32 = 0

    public init() {}

    @inline(__always)
    public mutating func advance(to second: Int, buckets: UnsafeMutableBufferPointer<UInt32>, length: Int) {
        guard second > newest else { return }
        // An empty window has nothing to expire (every bucket is zero): just move on.
        if requests == 0 && newest != Int.min { newest = second; return }
        let (gap, overflow) = second.subtractingReportingOverflow(newest)
        if newest == Int.min || overflow || gap >= length {
            for index in 0..<length { buckets[index] = 0 }
            requests = 0
            errors = 0
        } else {
            for expired in (newest + 1)...second {
                let slot = Self.slot(expired, length)
                let bucket = buckets[slot]
                requests -= Int32(bucket >> 16)
                errors -= Int32(bucket & 0xFFFF)
                buckets[slot] = 0
            }
        }
        newest = second
    }

    /// Counts one request at `second`; a second older than the window is ignored.
    @inline(__always)
    public mutating func add(at second: Int, error: Bool, buckets: UnsafeMutableBufferPointer<UInt32>, length: Int) {
        advance(to: second, buckets: buckets, length: length)
        guard second > newest &- length else { return }
        let slot = Self.slot(second, length)
        var bucket = buckets[slot]
        if bucket >> 16 < 0xFFFF {
            bucket += 1 << 16
            requests += 1
        }
        if error, bucket & 0xFFFF < 0xFFFF {
            bucket += 1
            errors += 1
        }
        buckets[slot] = bucket
    }

    /// A second's bucket, for any second (negative ones too: a bucket index is never out of range).
    @inline(__always)
    static func slot(_ second: Int, _ length: Int) -> Int {
        let slot = second % length
        return slot < 0 ? slot + length : slot
    }

    public func rate(_ length: Int) -> Double { Double(requests) / Double(length) }
    public var errorRate: Double { requests == 0 ? 0 : Double(errors) / Double(requests) }
}
