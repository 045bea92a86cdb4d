// The design in the repository: every "docs/design.md §x" a source file cites names a section of docs/design.md.
import Foundation
import Testing

@Suite struct DocsTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test func designReferencesNameExistingSections() throws {
        let design = try String(contentsOf: Self.root.appendingPathComponent("docs/design.md"), encoding: .utf8)
        // Headings "## 3. Algorithms", "### 3.7a Measuring progress…": the number before the title.
        let sections = Set(design.split(separator: "\n").compactMap { line -> String? in
            guard line.hasPrefix("#") else { return nil }
            let words = line.drop(while: { $0 == "#" }).split(separator: " ")
            guard let first = words.first, first.first?.isNumber == true else { return nil }
            return first.hasSuffix(".") ? String(first.dropLast()) : String(first)
        })
        #expect(sections.isSuperset(of: ["1", "2", "3", "3.1", "3.5", "3.7a", "4", "8", "9"]), "\(sections.sorted())")
        var cited = 0
        let files = FileManager.default.enumerator(atPath: Self.root.appendingPathComponent("Sources").path)
        while let name = files?.nextObject() as? String {
            guard name.hasSuffix(".swift") || name.hasSuffix(".c") || name.hasSuffix(".h") else { continue }
            let text = try String(contentsOf: Self.root.appendingPathComponent("Sources").appendingPathComponent(name), encoding: .utf8)
            var rest = text[...]
            while let range = rest.range(of: "docs/design.md §") {
                let number = rest[range.upperBound...].prefix { $0.isNumber || $0 == "." || $0.isLetter }
                let section = number.hasSuffix(".") ? String(number.dropLast()) : String(number)
                #expect(sections.contains(section), "Sources/\(name) cites docs/design.md §\(section), which does not exist")
                cited += 1
                rest = rest[range.upperBound...]
            }
        }
        #expect(cited > 50)
    }
}
