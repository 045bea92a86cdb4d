// The paired reward evaluation's statistics (docs/design.md §3.7a), from its per-rollout rows: the per-t summary rows of
// `reward_evals`, the mean reward over every t and at the last t of the grid (t = T by default) with a standard
// error over tasks, and the paired change between two evaluations (same tasks, same sampler seeds) with the
// standard error of the per-task differences. One implementation for the trainer, `inspect evals`, `eval-reward`
// and the report.
import Foundation

extension RewardEvaluationRows {
    /// The rows of one evaluation: the per-rollout rows in the log's order (task id, rollout, t) and one summary
    /// per t (mean c, mean R and the population std of R over every rollout of every task at that t).
    public init(step: Int, rollouts unordered: [RewardEvalRolloutRecord]) {
        let rollouts = unordered.sorted { ($0.taskID, $0.rollout, $0.t) < ($1.taskID, $1.rollout, $1.t) }
        var byT: [Int: [RewardEvalRolloutRecord]] = [:]
        for r in rollouts { byT[r.t, default: []].append(r) }
        let summaries = byT.keys.sorted().map { t -> RewardEvalRecord in
            let rows = byT[t] ?? []
            let n = Double(max(rows.count, 1))
            let c = rows.reduce(0) { $0 + $1.clipScore } / n
            let r = rows.reduce(0) { $0 + $1.reward } / n
            let v = rows.reduce(0) { $0 + ($1.reward - r) * ($1.reward - r) } / n
            let monitored = rows.compactMap(\.monitorScore)
            return RewardEvalRecord(step: step, t: t, tasks: Set(rows.map(\.taskID)).count,
                                    rollouts: Set(rows.map(\.rollout)).count, clipMean: c, rewardMean: r, rewardStd: v.squareRoot(),
                                    monitorMean: monitored.isEmpty ? nil : monitored.reduce(0, +) / Double(monitored.count))
        }
        self.init(summaries: summaries, rollouts: rollouts)
    }
}

/// One evaluation's headline numbers, and its change since a baseline evaluation (step 0) when one is given.
public struct PairedRewardSummary: Sendable, Equatable, Codable {
    public var step: Int
    public var tasks: Int
    public var rollouts: Int
    /// The last t of the grid (T unless the grid stops earlier).
    public var finalT: Int
    /// Mean R over every t, rollout and task, and its standard error over the task means.
    public var rewardMean: Double
    public var rewardSE: Double
    /// The same at t = finalT.
    public var rewardMeanFinal: Double
    public var rewardSEFinal: Double
    /// The baseline's step, and the paired change (this − baseline) with the standard error of the per-task
    /// differences; nil without a baseline.
    public var baselineStep: Int?
    public var change: Double?
    public var changeSE: Double?
    public var changeFinal: Double?
    public var changeFinalSE: Double?

    enum CodingKeys: String, CodingKey {
        case step, tasks, rollouts, finalT = "final_t", rewardMean = "reward_mean", rewardSE = "reward_se"
        case rewardMeanFinal = "reward_mean_final_t", rewardSEFinal = "reward_se_final_t", baselineStep = "baseline_step"
        case change, changeSE = "change_se", changeFinal = "change_final_t", changeFinalSE = "change_final_t_se"
    }
}

public enum PairedReward {
    /// Mean and standard error (sample std / √n; 0 for n < 2) of `xs`.
    public static func meanAndSE(_ xs: [Double]) -> (mean: Double, se: Double) {
        guard !xs.isEmpty else { return (.nan, .nan) }
        let n = Double(xs.count), mean = xs.reduce(0, +) / n
        guard xs.count > 1 else { return (mean, 0) }
        let variance = xs.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / (n - 1)
        return (mean, (variance / n).squareRoot())
    }

    /// Mean R per task over the rows (all t, or only t = `t`).
    public static func taskMeans(_ rows: [RewardEvalRolloutRecord], t: Int? = nil) -> [String: Double] {
        var sums: [String: (Double, Int)] = [:]
        for r in rows where t == nil || r.t == t {
            let s = sums[r.taskID] ?? (0, 0)
            sums[r.taskID] = (s.0 + r.reward, s.1 + 1)
        }
        return sums.mapValues { $0.0 / Double($0.1) }
    }

    /// The summary of one evaluation's rows, paired with `baseline`'s rows on the tasks both hold.
    public static func summary(step: Int, _ rows: [RewardEvalRolloutRecord], baseline: (step: Int, rows: [RewardEvalRolloutRecord])? = nil)
        -> PairedRewardSummary? {
        guard let finalT = rows.map(\.t).max() else { return nil }
        let all = taskMeans(rows), last = taskMeans(rows, t: finalT)
        let (m, se) = meanAndSE(all.keys.sorted().compactMap { all[$0] })
        let (mf, sef) = meanAndSE(last.keys.sorted().compactMap { last[$0] })
        var s = PairedRewardSummary(step: step, tasks: all.count, rollouts: Set(rows.map(\.rollout)).count, finalT: finalT,
                                    rewardMean: m, rewardSE: se, rewardMeanFinal: mf, rewardSEFinal: sef)
        if let baseline, !baseline.rows.isEmpty {
            let b = taskMeans(baseline.rows), bf = taskMeans(baseline.rows, t: finalT)
            let d = all.keys.sorted().compactMap { k in b[k].flatMap { bk in all[k].map { $0 - bk } } }
            let df = last.keys.sorted().compactMap { k in bf[k].flatMap { bk in last[k].map { $0 - bk } } }
            let (c, cse) = meanAndSE(d), (cf, cfse) = meanAndSE(df)
            s.baselineStep = baseline.step
            s.change = d.isEmpty ? nil : c; s.changeSE = d.isEmpty ? nil : cse
            s.changeFinal = df.isEmpty ? nil : cf; s.changeFinalSE = df.isEmpty ? nil : cfse
        }
        return s
    }

    /// One summary per evaluated step, each paired with the first evaluation (step 0 when the log has it).
    public static func summaries(_ rows: [RewardEvalRolloutRecord]) -> [PairedRewardSummary] {
        let bySteps = Dictionary(grouping: rows, by: \.step)
        let steps = bySteps.keys.sorted()
        guard let first = steps.first else { return [] }
        let baseline = (step: first, rows: bySteps[first] ?? [])
        return steps.compactMap { summary(step: $0, bySteps[$0] ?? [], baseline: baseline) }
    }

    /// "0.612 ± 0.011" style text, with a sign for changes.
    public static func text(_ value: Double?, _ se: Double?, signed: Bool = false) -> String {
        guard let value, value.isFinite else { return "–" }
        let v = String(format: signed ? "%+.3f" : "%.3f", value)
        guard let se, se.isFinite else { return v }
        return v + String(format: " ± %.3f", se)
    }
}
