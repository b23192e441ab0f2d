@testable import Detection
import Telemetry
import Testing
import Vocabulary

/// The engine's address index and order statistics against the standard library's answers.
@Suite struct ClientIndexTests {
    /// Random inserts and removals (IPv4, IPv6 and v4-mapped look-alikes) against a `Dictionary`:
    /// every lookup agrees, through growth and the backward shifts of deletion.
    @Test(arguments: [1, 7, 42])
    func agreesWithADictionaryUnderChurn(seed: UInt64) {
        var random = SeededRandom(seed: seed)
        var index = ClientIndex(capacity: 4)
        var model: [IPAddress: Int32] = [:]
        // A small universe, so removals and re-inserts of the same addresses are frequent.
        let universe = (0..<3000).map { number -> IPAddress in
            switch number % 3 {
            case 0: IPAddress(v4: UInt32(number))
            case 1: IPAddress(v6: 0x2001_0DB8_0000_0000 | UInt64(number), 0)
            default: IPAddress(v6: UInt64(number), 1)
            }
        }
        for step in 0..<60_000 {
            let ip = universe[Int(random.next() % UInt64(universe.count))]
            if model[ip] == nil, random.next() % 3 != 0 {
                index.insert(ip, slot: Int32(step))
                model[ip] = Int32(step)
            } else {
                #expect(index.remove(ip) == model.removeValue(forKey: ip))
            }
            if step % 997 == 0 {
                for probe in universe { #expect(index.slot(of: probe) == model[probe]) }
            }
        }
        #expect(index.count == model.count)
        for probe in universe { #expect(index.slot(of: probe) == model[probe]) }
    }

    /// Every rank of arrays full of repeats (as window counts are) against a sort.
    @Test(arguments: [3, 11])
    func selectionPutsEachRankWhereASortWould(seed: UInt64) {
        var random = SeededRandom(seed: seed)
        for count in [1, 2, 5, 64, 1000] {
            let values = (0..<count).map { _ in Int32(random.next() % 7) * (random.next() % 5 == 0 ? 100 : 1) }
            let sorted = values.sorted()
            for rank in 0..<count {
                var selected = values
                Selection.select(rank, in: &selected, 0..<count)
                #expect(selected[rank] == sorted[rank])
                #expect(selected[..<rank].allSatisfy { $0 <= sorted[rank] } && selected[(rank + 1)...].allSatisfy { $0 >= sorted[rank] })
            }
        }
    }
}

/// A window's buckets are written only inside their own range, whatever seconds arrive.
@Suite struct WindowArithmetic {
    @Test func anySecondStaysInsideTheBuckets() {
        let length = 60
        // The window's buckets with a sentinel on each side: a write outside its range would show.
        var memory = [UInt32](repeating: 0xDEAD_BEEF, count: length + 2)
        var counter = WindowCounter()
        let seconds = [-5, -3, -3, -200, 10, -1, Int.min + 1, 5, Int.max - 1, Int.max]
        memory.withUnsafeMutableBufferPointer { all in
            let buckets = UnsafeMutableBufferPointer(rebasing: all[1...length])
            for index in buckets.indices { buckets[index] = 0 }
            for second in seconds { counter.add(at: second, error: second < 0, buckets: buckets, length: length) }
        }
        #expect(memory.first == 0xDEAD_BEEF && memory.last == 0xDEAD_BEEF)
        // The window holds exactly what its buckets say.
        let held = memory[1...length].reduce(0) { $0 + Int($1 >> 16) }
        #expect(Int(counter.requests) == held)
    }
}
