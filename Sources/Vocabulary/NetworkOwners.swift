import Vocabulary

/// Which autonomous system holds an address, from the table the operator gives (`guard.asn_table`):
/// lines `start end asn [country [name]]`, tab or space separated, IPv4 and IPv6, as iptoasn.com and
/// others publish it. `#` starts a comment; AS 0 (not routed) is skipped.
public struct NetworkOwners: Sendable {
    /// One routed block.
    struct Block: Sendable {
        var start: IPAddress
        var end: IPAddress
        var system: UInt32
    }

    /// Blocks sorted by start (the longest first among equal starts), per family, for a binary
    /// search; with, at each position, the latest end of any block up to it, so a lookup walks back
    /// only as far as an earlier block could still hold the address.
    private let v4: [Block]
    private let v6: [Block]
    private let v4Reach: [IPAddress]
    private let v6Reach: [IPAddress]
    /// The AS names the table gives, for reports.
    public let names: [UInt32: String]

    public var isEmpty: Bool { v4.isEmpty && v6.isEmpty }

    /// The IPv4 blocks, lowest first (a traffic generator places networks in them).
    public var v4Blocks: [(start: IPAddress, end: IPAddress, system: UInt32)] { v4.map { ($0.start, $0.end, $0.system) } }
    public var count: Int { v4.count + v6.count }

    public init() { (v4, v6, v4Reach, v6Reach, names) = ([], [], [], [], [:]) }

    /// Reads a table; `file` names it in errors, which give the line and what is wrong.
    public init(text: String, file: String) throws(NetworkOwnersError) {
        var blocks: [Block] = []
        var names: [UInt32: String] = [:]
        // `isNewline`: a CRLF file is one grapheme per line end, never split by "\n" alone.
        for (index, line) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            let trimmed = line.drop { $0 == " " || $0 == "\t" }
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            let fields = trimmed.split(maxSplits: 4, whereSeparator: { $0 == "\t" || $0 == " " })
            guard fields.count >= 3 else {
                throw NetworkOwnersError(file: file, line: index + 1, message: "expected `start end asn [country name]`, got \(fields.count) field(s)")
            }
            guard let start = IPAddress(fields[0]), let end = IPAddress(fields[1]), start.isV4 == end.isV4, !(end < start) else {
                throw NetworkOwnersError(file: file, line: index + 1, message: "`\(fields[0]) \(fields[1])` is not a range of one family, start first")
            }
            guard let system = UInt32(fields[2].uppercased().replacingOccurrences(of: "AS", with: "")) else {
                throw NetworkOwnersError(file: file, line: index + 1, message: "`\(fields[2])` is not an AS number")
            }
            guard system != 0 else { continue }
            blocks.append(Block(start: start, end: end, system: system))
            if fields.count == 5, names[system] == nil { names[system] = String(fields[4]) }
        }
        blocks.sort { ($0.start, $1.end) < ($1.start, $0.end) }
        v4 = blocks.filter(\.start.isV4)
        v6 = blocks.filter { !$0.start.isV4 }
        func reach(_ blocks: [Block]) -> [IPAddress] {
            var latest: IPAddress?
            return blocks.map { block in
                latest = latest.map { max($0, block.end) } ?? block.end
                return latest!
            }
        }
        (v4Reach, v6Reach) = (reach(v4), reach(v6))
        self.names = names
    }

    /// The AS holding `address`, nil when no block does. Overlapping blocks: the one starting last
    /// at or before the address that still holds it (the most specific, in a table of nested blocks).
    public func system(of address: IPAddress) -> UInt32? {
        let (blocks, reach) = address.isV4 ? (v4, v4Reach) : (v6, v6Reach)
        var low = 0, high = blocks.count
        while low < high {
            let middle = (low + high) / 2
            if address < blocks[middle].start { high = middle } else { low = middle + 1 }
        }
        var index = low - 1
        while index >= 0, !(reach[index] < address) {
            if !(blocks[index].end < address) { return blocks[index].system }
            index -= 1
        }
        return nil
    }
}

/// A line of the AS table that cannot be read.
public struct NetworkOwnersError: Error, Equatable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var message: String

    public init(file: String, line: Int, message: String) { (self.file, self.line, self.message) = (file, line, message) }

    public var description: String { "\(file):\(line): \(message) (an ip-to-ASN table has lines `start end asn country name`)" }
}
