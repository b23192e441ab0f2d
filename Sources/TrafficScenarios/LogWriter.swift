import Foundation
import Vocabulary

/// How a real server writes its log, laid over the generated requests (a scenario's `log:`): each
/// request is stamped when it starts but written when it ends (`disorder`: request durations,
/// exponential with a fifth of it as mean, never longer), a share of lines is written twice (a
/// shipper's retry), the log's clock steps at one moment (`clock_step`), and at each rotation the
/// lines a slow worker still writes to the old file come after the new file's first second.
public struct LogShape: Sendable, Equatable {
    /// The longest a request takes (0: lines in time order).
    public var disorder: Double = 0
    /// Share of lines written twice.
    public var duplicates: Double = 0
    /// Seconds into the scenario when the log's clock steps, and by how much (negative: back).
    public var clockStep: (at: Double, by: Double)?
    /// Seconds between rotations (0: none).
    public var rotateEvery: Double = 0

    public init(disorder: Double = 0, duplicates: Double = 0, clockStep: (at: Double, by: Double)? = nil, rotateEvery: Double = 0) {
        (self.disorder, self.duplicates, self.clockStep, self.rotateEvery) = (disorder, duplicates, clockStep, rotateEvery)
    }

    public static func == (a: LogShape, b: LogShape) -> Bool {
        (a.disorder, a.duplicates, a.rotateEvery) == (b.disorder, b.duplicates, b.rotateEvery) && a.clockStep?.at == b.clockStep?.at && a.clockStep?.by == b.clockStep?.by
    }
}

/// Turns requests in time order into lines in the order a server writes them (`LogShape`): a
/// bounded buffer ordered by write time, so memory stays at the requests of one `disorder`.
public struct LogWriter: Sendable {
    public let shape: LogShape
    let start: Double
    private var random: SeededRandom
    /// Lines by write time.
    private var queue = TimeQueue<GeneratedRequest>()
    private var sequence = 0

    public init(shape: LogShape, start: Double, seed: UInt64) {
        self.shape = shape
        self.start = start
        random = SeededRandom(seed: seed ^ 0x5EED_106)
    }

    /// Takes the next request (in time order, nil at the end) and returns the lines now due, each
    /// with its stamp as the log's clock shows it.
    public mutating func write(_ request: GeneratedRequest?) -> [GeneratedRequest] {
        guard let request else { return drain(upTo: .infinity) }
        var written = request
        let offset = request.time - start
        if let step = shape.clockStep, offset >= step.at { written.time += step.by }
        var due = request.time
        if shape.disorder > 0 {
            let uniform = Double(random.next() >> 11) / Double(1 << 53)
            due += min(shape.disorder, -shape.disorder / 5 * log(max(1e-12, uniform)))
        }
        if shape.rotateEvery > 0 {
            // The last second before a rotation, from one worker in four, lands after the new file's first second.
            let sinceRotation = offset.truncatingRemainder(dividingBy: shape.rotateEvery)
            if offset > shape.rotateEvery, sinceRotation > shape.rotateEvery - 1, random.next() % 4 == 0 { due += 2 }
        }
        push(due, written)
        if shape.duplicates > 0, Double(random.next() >> 11) / Double(1 << 53) < shape.duplicates { push(due + 0.001, written) }
        return drain(upTo: request.time)
    }

    private mutating func push(_ due: Double, _ request: GeneratedRequest) {
        sequence += 1
        queue.push(due, tie: sequence, request)
    }

    /// The lines written by `time`, in write order.
    private mutating func drain(upTo time: Double) -> [GeneratedRequest] {
        var out: [GeneratedRequest] = []
        while let first = queue.first, first.time <= time, let line = queue.pop() { out.append(line.value) }
        return out
    }
}
