// `pararl eval-reward`: the paired reward evaluation of docs/design.md §3.7a on any policy checkpoint, with a run config's
// tasks, sampler seeds, t grid, CLIP, μ and σ — so two checkpoints (an SFT and an RL policy, or two RL steps) are
// compared outside a run exactly as a run compares its own evaluations.
import ArgumentParser
import Foundation
import ParaRLCLIP
import ParaRLRunKit
import ParaRLCore
import ParaRLDistributed
import ParaRLReport
import ParaRLSampling
import ParaRLStorage
import ParaRLTrainer

struct EvalRewardCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval-reward",
        abstract: "Score a checkpoint with a run config's paired reward evaluation (fixed tasks and seeds, R by t).",
        discussion: """
            The tasks (reward_eval.tasks, spread over the evaluation split), the rollouts per task with seeds that
            depend only on (seed, task, rollout), the grid of t, the CLIP and μ/σ all come from the config, so
            every checkpoint scored with one config sees the same prompts and the same noise. μ/σ: --run's
            clip_calibration.json, else the config's calibration file, else (calibration: rollouts) estimated
            from the config's init_checkpoint as a run's start does. --baseline CK2 also scores CK2 and prints the
            paired change (checkpoint − baseline) with the standard error of the per-task differences.
            Examples:
              pararl eval-reward --checkpoint runs/s3/checkpoints/step-00000024 --run runs/s3
              pararl eval-reward --checkpoint runs/s3/checkpoints/step-00000024 --config rl-configs/pararl-s3.yaml \\
                  --baseline models/world-policy --json
            """)

    @Option(help: "Policy checkpoint folder to score.") var checkpoint: String
    @Option(help: "Run config YAML whose reward_eval, sampler, CLIP and calibration are used.") var config: String?
    @Option(name: .customLong("run"), help: "A run folder: its config.yaml (unless --config) and its clip_calibration.json.")
    var runDir: String?
    @Option(help: "Also score this checkpoint and print the paired change against it.") var baseline: String?
    @Option(help: "Write the per-rollout rows and summaries as JSON to this file.") var out: String?
    @Flag(help: "Print the summary and the per-t rows as JSON.") var json = false
    @OptionGroup var compute: ComputeOptions

    func validate() throws {
        if config == nil && runDir == nil { throw ValidationError("give --config RUN.yaml or --run RUN_DIR") }
    }

    struct Output: Codable {
        var checkpoint: String
        var baseline: String?
        var clipMu: Double, clipSigma: Double
        var summary: PairedRewardSummary?
        var rewardEvals: [RewardEvalRecord]
        var baselineRewardEvals: [RewardEvalRecord]?
        var rollouts: [RewardEvalRolloutRecord]?
        enum CodingKeys: String, CodingKey {
            case checkpoint, baseline, clipMu = "clip_mu", clipSigma = "clip_sigma", summary, rewardEvals = "reward_evals"
            case baselineRewardEvals = "baseline_reward_evals", rollouts
        }
    }

    func run() throws {
        compute.apply()
        let log = RankLog(SingleProcessCommunicator())
        let configURL = URL(fileURLWithPath: config ?? URL(fileURLWithPath: runDir ?? "").appendingPathComponent(ParaRLRun.configFile).path)
        let calibration = try runDir.map { try CLIPCalibration.read(from: URL(fileURLWithPath: $0).appendingPathComponent(CLIPCalibration.fileName)) }
        let (evaluator, used) = try RewardEvaluator.load(configURL: configURL, calibration: calibration)
        log("eval-reward: \(evaluator.tasks.count) tasks × \(evaluator.rollouts) rollouts, t ∈ \(Self.gridText(evaluator.grid)), "
            + "μ_CLIP \(String(format: "%.3f", used.mu)) σ_CLIP \(String(format: "%.3f", used.sigma)) (\(used.source)), \(Parallel.threadCount) threads")
        func score(_ path: String) throws -> RewardEvaluationRows {
            let bundle = try PolicyBundle.load(checkpoint: URL(fileURLWithPath: path))
            let start = Date()
            let rows = try evaluator.evaluate(bundle, step: 0) { done, total in
                let rate = Double(done) / max(Date().timeIntervalSince(start), 1e-9)
                log.progress(String(format: "%@: task %d/%d (%.2f tasks/s, ETA %.0f s)", (path as NSString).lastPathComponent, done, total,
                                    rate, Double(total - done) / max(rate, 1e-9)))
            }
            log.endProgress()
            return rows
        }
        let rows = try score(checkpoint)
        let base = try baseline.map(score)
        let summary = PairedReward.summary(step: 0, rows.rollouts, baseline: base.map { (0, $0.rollouts) })
        let output = Output(checkpoint: checkpoint, baseline: baseline, clipMu: used.mu, clipSigma: used.sigma, summary: summary,
                            rewardEvals: rows.summaries, baselineRewardEvals: base?.summaries, rollouts: nil)
        if let out {
            var full = output
            full.rollouts = rows.rollouts
            do { try Data(try Inspect.json(full).utf8).write(to: URL(fileURLWithPath: out), options: .atomic) } catch {
                throw ValidationError("cannot write \(out): \(error.localizedDescription)")
            }
        }
        if json { print(try Inspect.json(output)); return }
        print(Self.text(output))
    }

    static func gridText(_ grid: [Int]) -> String {
        grid.count > 2 && grid == Array(grid[0]...grid[grid.count - 1]) ? "\(grid[0])…\(grid[grid.count - 1])" : "\(grid)"
    }

    static func text(_ o: Output) -> String {
        guard let s = o.summary else { return "no rows" }
        var lines = ["checkpoint \(o.checkpoint): mean R all t \(PairedReward.text(s.rewardMean, s.rewardSE)), "
                     + "t=\(s.finalT) \(PairedReward.text(s.rewardMeanFinal, s.rewardSEFinal)) (± se over \(s.tasks) tasks)"]
        if let b = o.baseline {
            lines.append("paired change vs \(b): all t \(PairedReward.text(s.change, s.changeSE, signed: true)), "
                         + "t=\(s.finalT) \(PairedReward.text(s.changeFinal, s.changeFinalSE, signed: true))")
        }
        var table = TextTable([("t", .right), ("clip mean", .right), ("R mean", .right), ("R std", .right)]
                              + (o.baselineRewardEvals == nil ? [] : [("baseline R", .right)]))
        let baseByT = Dictionary((o.baselineRewardEvals ?? []).map { ($0.t, $0.rewardMean) }, uniquingKeysWith: { a, _ in a })
        for e in o.rewardEvals {
            table.append(["\(e.t)", String(format: "%.2f", e.clipMean), String(format: "%.3f", e.rewardMean), String(format: "%.3f", e.rewardStd)]
                         + (o.baselineRewardEvals == nil ? [] : [baseByT[e.t].map { String(format: "%.3f", $0) } ?? ""]))
        }
        return (lines + [table.render()]).joined(separator: "\n")
    }
}
