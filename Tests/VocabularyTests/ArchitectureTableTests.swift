import Foundation
import Testing

/// docs/architecture.md's layer table says what each module imports and that arrows point one way
/// (a module imports only rows above it). This reads every `import` under `Sources/` and holds the
/// table to it, so the document cannot drift from the code.
@Suite struct ArchitectureTable {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    /// Each module under Sources/ (C targets: folders without Swift) and the local modules its Swift sources import.
    static func imports() throws -> (swift: [String: Set<String>], c: Set<String>) {
        let sources = "\(root)/Sources"
        let modules = try FileManager.default.contentsOfDirectory(atPath: sources).filter { !$0.hasPrefix(".") }
        var swift: [String: Set<String>] = [:], c = Set<String>()
        for module in modules {
            let files = (FileManager.default.enumerator(atPath: "\(sources)/\(module)")?.allObjects as? [String] ?? []).filter { $0.hasSuffix(".swift") }
            guard !files.isEmpty else {
                c.insert(module)
                continue
            }
            var imported = Set<String>()
            for file in files {
                let text = try String(contentsOfFile: "\(sources)/\(module)/\(file)", encoding: .utf8)
                for line in text.split(separator: "\n") {
                    let words = line.split(separator: " ")
                    guard let index = words.firstIndex(of: "import"), words[..<index].allSatisfy({ $0.hasPrefix("@") }), index + 1 < words.count else { continue }
                    imported.insert(String(words[index + 1]))
                }
            }
            swift[module] = imported.intersection(modules).subtracting([module])
        }
        return (swift, c)
    }

    /// The table's rows in order: target and its imports column.
    static func table() throws -> [(target: String, imports: String)] {
        let text = try String(contentsOfFile: "\(root)/docs/architecture.md", encoding: .utf8)
        let section = text.components(separatedBy: "## Layers").dropFirst().first?.components(separatedBy: "\n## ").first ?? ""
        return section.split(separator: "\n").compactMap { line in
            let cells = line.split(separator: "|", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard cells.count >= 4, cells[1].hasPrefix("`") else { return nil }
            return (cells[1].trimmingCharacters(in: CharacterSet(charactersIn: "`")), cells[cells.count - 2])
        }
    }

    @Test func theTableSaysWhatEachModuleImports() throws {
        let (modules, _) = try Self.imports()
        let rows = try Self.table()
        #expect(Set(rows.map(\.target)) == Set(modules.keys), "every Swift module has a row, and every row a module")
        for row in rows {
            guard let imported = modules[row.target] else { continue }
            let expected = imported.isEmpty ? "—" : imported.sorted().joined(separator: ", ")
            #expect(row.imports == expected, "docs/architecture.md, \(row.target): its sources import \(expected)")
        }
    }

    @Test func arrowsPointOneWay() throws {
        let (modules, c) = try Self.imports()
        let order = try Self.table().map(\.target)
        for (position, target) in order.enumerated() {
            for imported in modules[target] ?? [] where !c.contains(imported) {
                let above = order.firstIndex(of: imported).map { $0 < position } ?? false
                #expect(above, "\(target) imports \(imported), which is not above it in docs/architecture.md's table")
            }
        }
    }
}
