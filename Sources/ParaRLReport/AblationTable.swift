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
    /// Output alignment at the end minus at the SFT start of the same run (the same tasks and seed), over seeds.
    public var outputAlignmentChange: AblationCell?
    /// The paired reward change (all t) of the final evaluation vs step 0 on the held-out yardstick: the mean over
    /// seeds, and its standard error from the runs' per-task standard errors (√Σ se² / n).
    public var rewardChange: Double?
    public var rewardChangeSE: Double?
    /// Minutes of training per run up to its final evaluation: the median logged step time × the steps (a resumed run
    /// counts each step once; a step slowed by a pause or another job does not inflate it; evaluations excluded),
    /// over seeds.
    public var trainMinutes: AblationCell?

    /// The Δ Output Align., Δ reward and Train min cells as the tables show them ("–" where there is none).
    public var changeTexts: [String] {
        let align = outputAlignmentChange.flatMap { c in
            c.mean.map { String(format: "%+.1f", $0) + (c.spread.map { String(format: " ± %.1f", $0) } ?? "") }
        }
        let reward = rewardChange.map { String(format: "%+.3f ± %.3f", $0, rewardChangeSE ?? 0) }
        let minutes = trainMinutes.flatMap { $0.seeds > 0 ? $0.text : nil }
        return [align ?? "–", reward ?? "–", minutes ?? "–"]
    }

    enum CodingKeys: String, CodingKey {
        case variant, runs, seeds, steps, cells, outputAlignmentChange = "output_alignment_change"
        case rewardChange = "reward_change", rewardChangeSE = "reward_change_se", trainMinutes = "train_minutes"
    }
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

    /// A variant row with its paired changes: output alignment end − start per run, and the final paired reward
    /// change of each run's yardstick.
    static func variantRow(_ name: String, _ picks: [(LoggedRun, EvaluationRecord)], starts: [String: EvaluationRecord]) throws -> AblationRow {
        var r = row(name, picks)
        guard !picks.isEmpty else { return r }
        r.outputAlignmentChange = AblationCell(picks.compactMap { run, final in
            starts[run.runID].map { final.outputAlignment - $0.outputAlignment }
        })
        r.trainMinutes = AblationCell(try picks.map { run, final in
            let seconds = try run.log.steps(runID: run.runID).filter { $0.step <= final.step }.map(\.secondsTotal)
            return median(seconds) * Double(seconds.count) / 60
        })
        var changes: [(Double, Double)] = []
        for (run, final) in picks {
            let baseline = try run.log.rewardEvaluationRollouts(runID: run.runID, step: 0)
            let rows = try run.log.rewardEvaluationRollouts(runID: run.runID, step: final.step)
            guard !baseline.isEmpty, !rows.isEmpty,
                  let summary = PairedReward.summary(step: final.step, rows, baseline: (0, baseline)),
                  let change = summary.change, let se = summary.changeSE else { continue }
            changes.append((change, se))
        }
        if !changes.isEmpty {
            let n = Double(changes.count)
            r.rewardChange = changes.map(\.0).reduce(0, +) / n
            r.rewardChangeSE = changes.map { $0.1 * $0.1 }.reduce(0, +).squareRoot() / n
        }
        return r
    }

    /// The median (the mean of the two middle values for an even count; 0 for none).
    static func median(_ xs: [Double]) -> Double {
        guard !xs.isEmpty else { return 0 }
        let s = xs.sorted(), n = s.count
        return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2
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
            var starts: [String: EvaluationRecord] = [:]
            for run in runs {
                let overall = try run.log.evaluations(runID: run.runID).filter { $0.scope == "overall" }
                if let start = overall.first(where: { $0.step == 0 }) {
                    starts[run.runID] = start
                    if seedsSeen.insert(run.record.seed).inserted { startPicks.append((run, start)) }
                }
                if let last = overall.filter({ $0.step > 0 }).max(by: { $0.step < $1.step }) { finals.append((run, last)) }
            }
            rows.append(try variantRow(name, finals, starts: starts))
        }
        return AblationTable(rows: [row(startLabel, startPicks)] + rows)
    }

    /// A markdown table; the header names the spread.
    public func markdown() -> String {
        var lines = ["| Variant | " + axes.joined(separator: " | ") +  " | Δ Output Align. | Δ reward (paired) | Train min | Seeds |",
                     "|---|" + axes.map { _ in "---:|" }.joined() + "---:|---:|---:|---:|"]
        for r in rows {
            lines.append("| \(r.variant) | " + (r.cells.map(\.text) + r.changeTexts + ["\(r.runs.count)"]).joined(separator: " | ") + " |")
        }
        lines.append("")
        lines.append("Judge scores 0–100; mean ± \(spread) where there are several seeds. Δ Output Align.: end − start of the same "
                     + "run (same tasks and seed), mean ± sample std over seeds. Δ reward: the paired reward change (all t) of the "
                     + "final yardstick evaluation vs step 0, mean over seeds ± its standard error (per-task SEs combined). "
                     + "Train min: a run's median step time × its steps (evaluations excluded), mean ± sample std over seeds.")
        return lines.joined(separator: "\n")
    }
}
