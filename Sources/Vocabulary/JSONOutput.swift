import Foundation

extension JSONEncoder {
    /// The one configuration for every JSON the tool prints, stores or sends: keys in a fixed
    /// order (stable output, diffable history), slashes left as they are, dates in ISO 8601, and the
    /// numbers JSON lacks (a rate over no requests) as the strings "NaN" and "Infinity".
    public static var sorted: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        return encoder
    }
}

extension JSONDecoder {
    /// Reads what `JSONEncoder.sorted` wrote.
    public static var sorted: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        return decoder
    }
}

extension Encodable {
    /// This value as one line of JSON (`JSONEncoder.sorted`).
    public var jsonLine: String {
        // Encoding our own output types cannot fail: they hold strings, numbers and arrays only.
        (try? String(decoding: JSONEncoder.sorted.encode(self), as: UTF8.self)) ?? "{}"
    }
}
