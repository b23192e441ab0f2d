import Foundation

extension JSONEncoder {
    /// The one configuration for every JSON the tool prints, stores or sends: keys in a fixed
    /// order (stable output, diffable history) and slashes left as they are.
    public static var sorted: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }
}

extension Encodable {
    /// This value as one line of JSON (`JSONEncoder.sorted`).
    public var jsonLine: String {
        // Encoding our own output types cannot fail: they hold strings, numbers and arrays only.
        (try? String(decoding: JSONEncoder.sorted.encode(self), as: UTF8.self)) ?? "{}"
    }
}
