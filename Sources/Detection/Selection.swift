import Telemetry
import Vocabulary

/// Order statistics without a full sort: the recalc needs two quantiles of up to a few hundred
/// thousand clients' counts every minute, most of them equal.
enum Selection {
    /// Rearranges `values[range]` so that `values[k]` holds the element a sort would put there, with
    /// none larger before it and none smaller after it. Three-way partitions (runs of equal counts
    /// cost nothing) around pivots from a fixed-seed generator: expected linear time on any input.
    static func select<Value: Comparable>(_ k: Int, in values: inout [Value], _ range: Range<Int>) {
        precondition(range.contains(k), "select: \(k) outside \(range)")
        var (lower, upper) = (range.lowerBound, range.upperBound)
        var random = SeededRandom(seed: UInt64(range.count))
        values.withUnsafeMutableBufferPointer { values in
            while upper - lower > 1 {
                let pivot = values[lower + Int(random.next() % UInt64(upper - lower))]
                // [lower, less) < pivot, [less, scan) == pivot, [greater, upper) > pivot.
                var (less, scan, greater) = (lower, lower, upper)
                while scan < greater {
                    let value = values[scan]
                    if value < pivot {
                        values.swapAt(less, scan)
                        less += 1
                        scan += 1
                    } else if value > pivot {
                        greater -= 1
                        values.swapAt(scan, greater)
                    } else {
                        scan += 1
                    }
                }
                if k < less { upper = less } else if k >= greater { lower = greater } else { return }
            }
        }
    }
}
