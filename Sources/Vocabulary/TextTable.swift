/// Left-aligned columns for terminal output, two spaces apart, no trailing blanks.
public enum TextTable {
    /// - Parameter rule: draw a dashed line under the first row (the header).
    public static func lines(_ rows: [[String]], rule: Bool = false) -> [String] {
        let columns = rows.map(\.count).max() ?? 0
        let widths = (0..<columns).map { column in rows.map { column < $0.count ? $0[column].count : 0 }.max() ?? 0 }
        var lines: [String] = []
        for (index, row) in rows.enumerated() {
            let padded = row.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }.joined(separator: "  ")
            lines.append(String(padded.reversed().drop { $0 == " " }.reversed()))
            if rule && index == 0 { lines.append(widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")) }
        }
        return lines
    }
}
