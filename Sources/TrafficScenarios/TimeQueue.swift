/// A min-heap of values by (time, tie-breaker): the generator's next actor, the writer's next line.
/// Equal times come out in tie-breaker order, so a seed always gives the same output.
struct TimeQueue<Value: Sendable>: Sendable {
    private var heap: [(time: Double, tie: Int, value: Value)] = []

    var first: (time: Double, value: Value)? { heap.first.map { ($0.time, $0.value) } }

    mutating func push(_ time: Double, tie: Int, _ value: Value) {
        heap.append((time, tie, value))
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard Self.before(heap[child], heap[parent]) else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    mutating func pop() -> (time: Double, value: Value)? {
        guard let top = heap.first else { return nil }
        let last = heap.removeLast()
        if !heap.isEmpty {
            heap[0] = last
            var parent = 0
            while true {
                let left = 2 * parent + 1, right = left + 1
                var smallest = parent
                if left < heap.count, Self.before(heap[left], heap[smallest]) { smallest = left }
                if right < heap.count, Self.before(heap[right], heap[smallest]) { smallest = right }
                if smallest == parent { break }
                heap.swapAt(parent, smallest)
                parent = smallest
            }
        }
        return (top.time, top.value)
    }

    private static func before(_ a: (time: Double, tie: Int, value: Value), _ b: (time: Double, tie: Int, value: Value)) -> Bool {
        a.time < b.time || (a.time == b.time && a.tie < b.tie)
    }
}
