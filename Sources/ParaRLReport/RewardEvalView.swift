// `pararl inspect evals`: a run's paired reward evaluations (docs/design.md §3.7a) — one line per evaluated step with the
// mean reward over every t and at t = T, its standard error over tasks and the paired change since step 0 — and
// the mean reward by t at every evaluated step.
import Foundation
import ParaRLStorage

/// What `inspect evals --json` prints (snake_case keys, as the database).
public struct RewardEvalView: Codable, Sendable, Equatable {
    public var runID: String
    public var summaries: [PairedRewardSummary]
    public var byT: [RewardEvalRecord]

    enum CodingKeys: String, CodingKey { case runID = "run_id", summaries, byT = "reward_evals" }
}

extension Inspect {
    public static func rewardEvals(_ run: LoggedRun) throws -> RewardEvalView {
        RewardEvalView(runID: run.runID, summaries: PairedReward.summaries(try run.log.rewardEvaluationRollouts(runID: run.runID)),
                       byT: try run.log.rewardEvaluations(runID: run.runID))
    }

    public static func rewardEvalText(_ v: RewardEvalView, width: Int) -> String {
        guard let first = v.summaries.first else {
            return "run \(v.runID): no paired reward evaluations (reward_eval is off, or the log predates them)"
        }
        var head = TextTable([("step", .right), ("tasks×G", .right), ("R all t ± se", .right), ("Δ all t ± se", .right),
                              ("R t=\(first.finalT) ± se", .right), ("Δ t=\(first.finalT) ± se", .right)])
        for s in v.summaries {
            head.append(["\(s.step)", "\(s.tasks)×\(s.rollouts)", PairedReward.text(s.rewardMean, s.rewardSE),
                         s.step == s.baselineStep ? "" : PairedReward.text(s.change, s.changeSE, signed: true),
                         PairedReward.text(s.rewardMeanFinal, s.rewardSEFinal),
                         s.step == s.baselineStep ? "" : PairedReward.text(s.changeFinal, s.changeFinalSE, signed: true)])
        }
        // R by t: one column per evaluated step (the first, the last and evenly spaced ones between, as fits).
        let steps = Array(Set(v.byT.map(\.step))).sorted()
        let shown = HTMLReport.spread(steps, max(2, min(steps.count, (width - 6) / 9)))
        var byT = TextTable([("t", .right)] + shown.map { ("step \($0)", .right) })
        let lookup = Dictionary(v.byT.map { ("\($0.step):\($0.t)", $0.rewardMean) }, uniquingKeysWith: { a, _ in a })
        for t in Array(Set(v.byT.map(\.t))).sorted() {
            byT.append(["\(t)"] + shown.map { step in lookup["\(step):\(t)"].map { String(format: "%.3f", $0) } ?? "" })
        }
        return "paired reward of run \(v.runID) (fixed tasks and sampler seeds; se over tasks; Δ paired per task vs step \(first.step))\n"
            + head.render(width: width) + "\n\nmean R by t\n" + byT.render(width: width)
    }
}
