import CPrefetch
import Telemetry
import Vocabulary

/// Address → slot for the clients the guard tracks, looked up once per log line. Open addressing
/// with linear probing and backward-shift deletion (no tombstones, so churn never slows it down),
/// hashed with a keyed 128-bit multiply: cheaper than `Dictionary`'s SipHash on the hot path, and
/// the key is drawn per process, so an attacker who chooses addresses cannot choose collisions.
struct ClientIndex: Sendable {
    private struct Entry: Sendable {
        var high: UInt64 = 0
        var low: UInt64 = 0
        /// The client's slot; -1 marks an empty entry.
        var slot: Int32 = -1
        var isV4 = false
    }

    private var entries: [Entry]
    private var mask: Int
    private let key: (UInt64, UInt64)
    private(set) var count = 0

    init(capacity: Int = 1024) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        entries = [Entry](repeating: Entry(), count: size)
        mask = size - 1
        var random = SystemRandomNumberGenerator()
        key = (random.next() | 1, random.next() | 1)
    }

    @inline(__always)
    private func home(_ high: UInt64, _ low: UInt64) -> Int {
        let mixed = (low ^ key.0).multipliedFullWidth(by: high ^ key.1 ^ 0x9E37_79B9_7F4A_7C15)
        return Int(truncatingIfNeeded: mixed.high ^ mixed.low) & mask
    }

    /// The slot of `ip`, or nil when it is not tracked.
    @inline(__always)
    func slot(of ip: IPAddress) -> Int32? {
        entries.withUnsafeBufferPointer { entries in
            var at = home(ip.high, ip.low)
            while true {
                let entry = entries[at]
                if entry.slot < 0 { return nil }
                if entry.low == ip.low, entry.high == ip.high, entry.isV4 == ip.isV4 { return entry.slot }
                at = (at + 1) & mask
            }
        }
    }

    /// Starts loading the entry where a lookup of `ip` begins (see `GuardEngine.prefetch`).
    @inline(__always)
    func prefetch(_ ip: IPAddress) {
        let at = home(ip.high, ip.low)
        entries.withUnsafeBufferPointer { cprefetch($0.baseAddress! + at) }
    }

    /// Adds `ip` (which must not be in the index yet) at `slot`.
    mutating func insert(_ ip: IPAddress, slot: Int32) {
        if (count + 1) * 2 > entries.count { grow() }
        place(Entry(high: ip.high, low: ip.low, slot: slot, isV4: ip.isV4))
        count += 1
    }

    private mutating func place(_ entry: Entry) {
        let mask = mask
        var at = home(entry.high, entry.low)
        entries.withUnsafeMutableBufferPointer { entries in
            while entries[at].slot >= 0 { at = (at + 1) & mask }
            entries[at] = entry
        }
    }

    private mutating func grow() {
        let old = entries
        entries = [Entry](repeating: Entry(), count: old.count * 2)
        mask = entries.count - 1
        for entry in old where entry.slot >= 0 { place(entry) }
    }

    /// Removes `ip`; returns the slot it had.
    @discardableResult
    mutating func remove(_ ip: IPAddress) -> Int32? {
        let mask = mask
        var hole = home(ip.high, ip.low)
        while true {
            let entry = entries[hole]
            if entry.slot < 0 { return nil }
            if entry.low == ip.low, entry.high == ip.high, entry.isV4 == ip.isV4 { break }
            hole = (hole + 1) & mask
        }
        let removed = entries[hole].slot
        // Backward shift: pull later entries of the run into the hole when the hole lies between
        // their home and where they sit, so every lookup still finds them without tombstones.
        var next = (hole + 1) & mask
        while entries[next].slot >= 0 {
            let wanted = home(entries[next].high, entries[next].low)
            if (next - wanted) & mask >= (next - hole) & mask {
                entries[hole] = entries[next]
                hole = next
            }
            next = (next + 1) & mask
        }
        entries[hole] = Entry()
        count -= 1
        return removed
    }
}
