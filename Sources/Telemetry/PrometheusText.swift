/// One sample of a Prometheus text exposition: `name{label="value",…} 1.5`.
public struct MetricSample: Sendable, Equatable {
    public var name: String
    public var labels: [String: String]
    public var value: Double

    public init(name: String, labels: [String: String] = [:], value: Double) {
        self.name = name
        self.labels = labels
        self.value = value
    }
}

/// Why a line of Prometheus text could not be read.
public struct PrometheusTextError: Error, Equatable, CustomStringConvertible {
    public let line: Int
    public let reason: String
    public var description: String { "metrics line \(line): \(reason)" }
}

/// Reads the Prometheus text format (version 0.0.4) that apps expose on `/metrics`,
/// so canary analysis can use an app's own histogram.
public struct PrometheusText: Sendable {
    public let samples: [MetricSample]

    public init(parsing text: String) throws(PrometheusTextError) {
        var samples: [MetricSample] = []
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: " \t\r")
            if line.isEmpty || line.hasPrefix("#") { continue }
            samples.append(try Self.sample(Substring(line), lineNumber: index + 1))
        }
        self.samples = samples
    }

    /// The value of the sample with this name whose labels include all of `labels`; nil when absent.
    public func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
        matching(name, labels).first?.value
    }

    /// The sum over samples of this name whose labels include all of `labels`.
    public func sum(_ name: String, _ labels: [String: String] = [:]) -> Double {
        matching(name, labels).reduce(0) { $0 + $1.value }
    }

    /// Samples with this name whose labels include all of `labels`.
    public func matching(_ name: String, _ labels: [String: String] = [:]) -> [MetricSample] {
        samples.filter { sample in
            sample.name == name && labels.allSatisfy { key, value in sample.labels[key] == value }
        }
    }

    private static func sample(_ line: Substring, lineNumber: Int) throws(PrometheusTextError) -> MetricSample {
        let nameEnd = line.firstIndex { $0 == "{" || $0 == " " || $0 == "\t" } ?? line.endIndex
        let name = String(line[..<nameEnd])
        guard !name.isEmpty else { throw PrometheusTextError(line: lineNumber, reason: "missing metric name") }
        var rest = line[nameEnd...]
        var labels: [String: String] = [:]
        if rest.first == "{" {
            rest = rest.dropFirst()
            while true {
                rest = rest.drop { $0 == " " || $0 == "," }
                if rest.first == "}" { rest = rest.dropFirst(); break }
                guard let equals = rest.firstIndex(of: "=") else {
                    throw PrometheusTextError(line: lineNumber, reason: "label without '=' in \(name)")
                }
                let key = String(rest[..<equals]).trimmingCharacters(in: " ")
                rest = rest[rest.index(after: equals)...]
                guard rest.first == "\"" else {
                    throw PrometheusTextError(line: lineNumber, reason: "label \(key) value is not quoted")
                }
                rest = rest.dropFirst()
                var value = ""
                var closed = false
                while let character = rest.first {
                    rest = rest.dropFirst()
                    if character == "\\", let escaped = rest.first {
                        rest = rest.dropFirst()
                        value.append(escaped == "n" ? "\n" : escaped)
                    } else if character == "\"" {
                        closed = true
                        break
                    } else {
                        value.append(character)
                    }
                }
                guard closed else { throw PrometheusTextError(line: lineNumber, reason: "unterminated label value for \(key)") }
                labels[key] = value
            }
        }
        let fields = rest.split(whereSeparator: { $0 == " " || $0 == "\t" })
        guard let first = fields.first, let value = Double(first) else {
            throw PrometheusTextError(line: lineNumber, reason: "\(name) has no numeric value")
        }
        // The app is not trusted: a NaN, an infinity or a number no counter reaches is refused here,
        // so nothing downstream converts it (an `Int(NaN)` would stop the process).
        guard value.isFinite, abs(value) <= Self.largest else {
            throw PrometheusTextError(line: lineNumber, reason: "\(name) has the value \(first), which is not a finite number up to 2^53")
        }
        return MetricSample(name: name, labels: labels, value: value)
    }

    /// The largest value taken: every integer up to it is exact in a Double.
    static let largest = 9_007_199_254_740_992.0
}

extension StringProtocol {
    func trimmingCharacters(in set: String) -> String {
        var slice = Substring(self)
        while let first = slice.first, set.contains(first) { slice = slice.dropFirst() }
        while let last = slice.last, set.contains(last) { slice = slice.dropLast() }
        return String(slice)
    }
}
