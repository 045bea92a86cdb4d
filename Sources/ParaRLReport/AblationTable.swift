// The ablation table in the paper's form (Tables 3–5: Text Qual., Text Align., Image Cons., Image Align.,
// Image Qual., Output Align., Overall), computed from run logs alone: each variant's final evaluation and the
// SFT start (the step-0 evaluation), mean ± sample standard deviation over seeds.
import Foundation
import ParaRLStorage

/// One cell: the mean over seeds, the sample standard deviation (n − 1; nil for one seed) and the seed count.
public struct AblationCell: Codable, Sendable, Equatable {
    public var mean: Double?
    public var spread: Double?
    public var seeds: Int

    init(_ values: [Double]) {
        seeds = values.count
        guard !values.isEmpty else { mean = nil; spread = nil; return }
        let m = values.reduce(0, +) / Double(values.count)
        mean = m
        spread = values.count > 1
            ? (values.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(values.count - 1)).squareRoot() : nil
    }

    public var text: String {
        guard let mean else { return "–" }
        return String(format: "%.1f", mean) + (spread.map { String(format: " ± %.1f", $0) } ?? "")
    }
}

public struct AblationRow: Codable, Sendable, Equatable {
    public var variant: String
    /// The runs that contributed (one per seed) and the evaluated step of each.
    public var runs: [String]
    public var seeds: [UInt64]
    public var steps: [Int]
    /// Cells in `AblationTable.axes` order.
    public var cells: [AblationCell]
}

public struct AblationTable: Codable, Sendable, Equatable {
    public static let axes = ["Text Qual.", "Text Align.", "Image Cons.", "Image Align.", "Image Qual.", "Output Align.", "Overall"]
    public static let startLabel = "SFT (start)"
    public var axes: [String] = Self.axes
    public var spread = "sample standard deviation over seeds"
    public var rows: [AblationRow]

    static func values(_ e: EvaluationRecord) -> [Double?] {
        [e.textQuality, e.textAlignment, e.imageConsistency, e.imageAlignment, e.imageQuality, e.outputAlignment, e.overall]
    }

    static func row(_ name: String, _ picks: [(LoggedRun, EvaluationRecord)]) -> AblationRow {
        let columns = (0..<axes.count).map { a in AblationCell(picks.compactMap { values($0.1)[a] }) }
        return AblationRow(variant: name, runs: picks.map(\.0.runID), seeds: picks.map(\.0.record.seed), steps: picks.map(\.1.step),
                           cells: columns)
    }

    /// The table of `variants` (each: a name and its runs, one per seed). The first row is the SFT start: the step-0
    /// `overall` evaluation of one run per seed (the first variant holding that seed); every variant row uses each
    /// run's latest `overall` evaluation after step 0 (a run without one contributes nothing).
    public static func compute(variants: [(name: String, runs: [LoggedRun])]) throws -> AblationTable {
        var startPicks: [(LoggedRun, EvaluationRecord)] = []
        var seedsSeen = Set<UInt64>()
        var rows: [AblationRow] = []
        for (name, runs) in variants {
            var finals: [(LoggedRun, EvaluationRecord)] = []
            for run in runs {
                let overall = try run.log.evaluations(runID: run.runID).filter { $0.scope == "overall" }
                if let start = overall.first(where: { $0.step == 0 }), seedsSeen.insert(run.record.seed).inserted {
                    startPicks.append((run, start))
                }
                if let last = overall.filter({ $0.step > 0 }).max(by: { $0.step < $1.step }) { finals.append((run, last)) }
            }
            rows.append(row(name, finals))
        }
        return AblationTable(rows: [row(startLabel, startPicks)] + rows)
    }

    /// A markdown table; the header names the spread.
    public func markdown() -> String {
        var lines = ["| Variant | " + axes.joined(separator: " | ") + " | Seeds |",
                     "|---|" + axes.map { _ in "---:|" }.joined() + "---:|"]
        for r in rows {
            lines.append("| \(r.variant) | " + r.cells.map(\.text).joined(separator: " | ") + " | \(r.runs.count) |")
        }
        lines.append("")
        lines.append("Judge scores 0–100; mean ± \(spread) where there are several seeds.")
        return lines.joined(separator: "\n")
    }
}
