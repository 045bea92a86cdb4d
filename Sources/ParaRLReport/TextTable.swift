// Plain-text tables for the terminal: right-aligned numbers, left-aligned text, and text columns shortened
// with "…" so a row fits the given width.
import Foundation

public struct TextTable: Sendable {
    public enum Alignment: Sendable { case left, right }
    public var headers: [String]
    public var alignments: [Alignment]
    public var rows: [[String]] = []

    public init(_ columns: [(String, Alignment)]) {
        headers = columns.map(\.0)
        alignments = columns.map(\.1)
    }

    public mutating func append(_ row: [String]) { rows.append(row) }

    /// The table as lines no wider than `width` (when possible): left-aligned columns give up width first,
    /// the widest one first, down to 8 characters each.
    public func render(width: Int = .max) -> String {
        var widths = headers.indices.map { c in ([headers[c]] + rows.map { c < $0.count ? $0[c] : "" }).map(\.count).max() ?? 0 }
        let gap = 2
        func total() -> Int { widths.reduce(0, +) + gap * max(0, widths.count - 1) }
        while total() > width {
            let shrinkable = widths.indices.filter { alignments[$0] == .left && widths[$0] > 8 }
            guard let c = shrinkable.max(by: { widths[$0] < widths[$1] }) else { break }
            widths[c] = max(8, widths[c] - (total() - width))
        }
        func line(_ cells: [String]) -> String {
            var parts: [String] = []
            for c in widths.indices {
                var cell = c < cells.count ? cells[c] : ""
                if cell.count > widths[c] { cell = String(cell.prefix(widths[c] - 1)) + "…" }
                let pad = String(repeating: " ", count: widths[c] - cell.count)
                parts.append(alignments[c] == .right ? pad + cell : (c == widths.count - 1 ? cell : cell + pad))
            }
            return parts.joined(separator: String(repeating: " ", count: gap))
        }
        let rule = widths.map { String(repeating: "-", count: $0) }.joined(separator: String(repeating: " ", count: gap))
        return ([line(headers), rule] + rows.map(line)).joined(separator: "\n")
    }
}

/// One line of free text shortened to `width` with "…"; newlines shown as "⏎".
public func oneLine(_ text: String, width: Int = .max) -> String {
    let flat = text.replacingOccurrences(of: "\n", with: " ⏎ ")
    return flat.count > width && width > 1 ? String(flat.prefix(width - 1)) + "…" : flat
}
