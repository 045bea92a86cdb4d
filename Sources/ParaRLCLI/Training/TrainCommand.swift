// `pararl train`: ParaRL (trajectory-level diffusion-GRPO, docs/design.md §3.5–3.7) or the output-level baseline from a YAML
// config, with a progress line per step, the rollout log, judge evaluations, atomic checkpoints and exact resume;
// data-parallel under mpirun. The loop lives in ParaRLTrainer; this file only parses options and prints.
import ArgumentParser
import Foundation
import ParaRLMedia
import ParaRLRunKit
import ParaRLCore
import ParaRLDistributed
import ParaRLStorage
import ParaRLTrainer
import ParaRLWorld

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train the policy with ParaRL (trajectory-level CLIP rewards, diffusion-GRPO).",
        discussion: """
            Per step: prompts_per_step world tasks, G rollouts each with full trajectory records; per group a fresh
            S ⊂ {1..T} of s steps; the partial text and image at every t ∈ S scored by CLIP; R = ½(1 + clip((c − μ)/σ,
            −1, 1)); per-step group advantages; the clipped diffusion-GRPO update on the rebuilt states with the k3 KL
            against the SFT policy. Writes RUN/rollouts.sqlite (runs, steps, groups, rollouts, snapshots, evaluations,
            checkpoints — open it with sqlite3), RUN/config.yaml (resolved), RUN/clip_calibration.json, RUN/tokenizer/
            and RUN/checkpoints/step-N/ (loadable by `pararl sample`/`pararl eval --checkpoint`).
            Progress columns (the `steps` table's columns; with num_iterations > 1 loss, kl, clip and |ρ-1| are means
            over every inner iteration):
              reward  mean ± population std of R over this step's snapshots (new prompts and a fresh S every step:
                      it is not a yardstick of progress; the paired reward below is)
              align   the judge's output alignment of the step's final outputs (0–100)
              kl      per-token mean of the k3 estimator against the reference, β-free (comparable across s and
                      objectives; the gradient keeps the objective's own weighting)
              clip    share of scored tokens whose ratio was clipped (low + high)
              |ρ-1|   mean and max of |ρ − 1| over the scored tokens (≈0 with num_iterations = 1: π_old comes from
                      the sampler's records)
              lr      the learning rate of the step's last update (warm-up starts at lr/warmup_steps)
            Paired reward lines (reward_eval: in the config): the mean R of fixed held-out tasks with fixed sampler
            seeds, over every t of the grid and at t = T, ± the standard error over tasks, and its change since
            step 0 (paired per task) ± its standard error. They are stored in the tables reward_evals and
            reward_eval_rollouts; `pararl inspect evals --run RUN` prints them.
            Examples:
              pararl train --config rl-configs/pararl-s3.yaml --run-dir runs/pararl-s3
              pararl train --config rl-configs/pararl-s3.yaml --run-dir runs/try --steps 10 --eval-tasks 30
              pararl train --resume runs/pararl-s3
              mpirun -np 2 pararl train --config rl-configs/pararl-s3.yaml --run-dir runs/pararl-s3-mpi
            """)

    @Option(help: "ParaRL config YAML (rl-configs/pararl-*.yaml, output-level.yaml).") var config: String?
    @Option(help: "Run folder for a new run.") var runDir: String = "runs/pararl"
    @Option(help: "Continue the run in this folder from its newest checkpoint.") var resume: String?
    @Option(help: "Stop after this many completed steps (a checkpoint is written there).") var stopAfter: Int?
    @Option(help: "Override the config's step count (new runs).") var steps: Int?
    @Option(help: "Override the config's evaluation task count (new runs).") var evalTasks: Int?
    @Flag(help: "Also print every step as one JSON object per line on stdout (the logged row).") var json = false
    @OptionGroup var compute: ComputeOptions

    func validate() throws {
        try validateStartOrResume(config: config, resume: resume, stopAfter: stopAfter)
        if resume != nil && (steps != nil || evalTasks != nil) { throw ValidationError("--steps and --eval-tasks apply to new runs only") }
        if let s = steps, s < 1 { throw ValidationError("--steps must be at least 1") }
        if let e = evalTasks, e < 0 { throw ValidationError("--eval-tasks must be non-negative") }
    }

    func run() throws {
        let communicator = try MPILaunch.start(compute)
        try MPILaunch.run(communicator, resume: "pararl train --resume \(resume ?? runDir)") { try train(communicator) }
    }

    private func train(_ communicator: any Communicator) throws {
        let log = RankLog(communicator)
        let trainer: ParaRLTrainer
        if let resume {
            trainer = try ParaRLRun.resume(runDirectory: URL(fileURLWithPath: resume), communicator: communicator,
                                           codeVersion: ParaRLVersion.string)
            log("resumed \(resume) at step \(trainer.step)")
        } else {
            trainer = try ParaRLRun.start(configURL: URL(fileURLWithPath: config ?? ""), runDirectory: URL(fileURLWithPath: runDir),
                                          communicator: communicator, codeVersion: ParaRLVersion.string) { c in
                if let steps { c.steps = steps }
                if let evalTasks { c.evalTasks = evalTasks }
            }
            let c = trainer.config
            log("run \(runDir): \(c.objective.rawValue) objective, s = \(c.effectiveSampledSteps), G = \(c.groupSize), "
                + "\(c.promptsPerStep) prompts/step, T = \(c.sampler.steps), \(c.steps) steps, "
                + "\(trainer.policy.config.transformer.parameterCount) parameters, μ_CLIP \(trainer.calibration.mu) σ_CLIP \(trainer.calibration.sigma), "
                + "\(Parallel.threadCount) threads")
        }
        if communicator.size > 1 {
            log("data-parallel over \(communicator.size) ranks: \(trainer.share.count) groups on this rank per step")
        }
        trainer.failure = try MPILaunch.injectedFailureStep(rank: communicator.rank)
        let start = Date()
        let encoder = JSONText.outputEncoder()
        try trainer.train(until: stopAfter) { event in
            switch event {
            case .step(let r):
                let s = r.record
                if json, let data = try? encoder.encode(s) { FileHandle.standardOutput.write(data + Data("\n".utf8)) }
                let line = String(format: "step %d/%d reward %.3f±%.3f align %.1f kl %.2e clip %.3f |g| %.3f lr %.2e |ρ-1| %.1e/%.1e%@ | %.1f s/step (rollout %.1f score %.1f update %.1f) ETA %@",
                                  s.step, r.steps, s.rewardMean, s.rewardStd, s.outputAlignment, s.kl,
                                  s.clipFractionLow + s.clipFractionHigh, s.gradNorm, s.lr, s.ratioDeviationMean, s.ratioDeviationMax,
                                  s.skipped ? " SKIPPED (non-finite gradient)" : "", s.secondsTotal, s.secondsRollout,
                                  s.secondsScoring, s.secondsUpdate, Self.duration(r.etaSeconds))
                log.progress(line)
            case .evaluation(let step, let report, let seconds):
                log.endProgress()
                log(Self.evaluationLine(step: step, report, seconds: seconds))
            case .selection(let step, let report, let seconds):
                log.endProgress()
                log(Self.selectionLine(step: step, report, seconds: seconds))
            case .rewardEvaluation(let summary, let seconds):
                log.endProgress()
                log(Self.rewardLine(summary, seconds: seconds))
            case .checkpoint(let step, let folder):
                log.endProgress()
                log("checkpoint step \(step): \(folder.path)")
            }
        }
        log(String(format: "done: step %d in %.1f s; rollout log %@", trainer.step, Date().timeIntervalSince(start),
                   trainer.runDirectory.appendingPathComponent("rollouts.sqlite").path))
    }

    /// The selection slice's line: the judge on training-distribution tasks the run never trains on.
    static func selectionLine(step: Int, _ r: JudgeReport, seconds: Double) -> String {
        "selection (training-distribution tasks never trained on): " + evaluationLine(step: step, r, seconds: seconds)
    }

    static func evaluationLine(step: Int, _ r: JudgeReport, seconds: Double) -> String {
        let o = r.overall
        return String(format: "eval step %d on %d tasks (%.0f s): text quality %.1f, text align %.1f, image consistency %@, image align %.1f, image quality %.1f, output align %.1f, overall %.1f",
                      step, r.count, seconds, o.textQuality, o.textAlignment, o.imageConsistency.map { String(format: "%.1f", $0) } ?? "–",
                      o.imageAlignment, o.imageQuality, o.outputAlignment, o.overall)
    }

    /// "paired reward step 25 (16 tasks × 4, 48 s): all t 0.612 ± 0.021 (Δ +0.031 ± 0.012), t=24 0.701 ± 0.030 (Δ …)".
    static func rewardLine(_ s: PairedRewardSummary, seconds: Double) -> String {
        func delta(_ c: Double?, _ se: Double?) -> String { c == nil ? "" : " (Δ vs step \(s.baselineStep ?? 0) " + PairedReward.text(c, se, signed: true) + ")" }
        let head = String(format: "paired reward step %d (%d tasks × %d, %.0f s): ", s.step, s.tasks, s.rollouts, seconds)
        return head + "all t " + PairedReward.text(s.rewardMean, s.rewardSE) + (s.step == 0 ? "" : delta(s.change, s.changeSE))
            + ", t=\(s.finalT) " + PairedReward.text(s.rewardMeanFinal, s.rewardSEFinal)
            + (s.step == 0 ? "" : delta(s.changeFinal, s.changeFinalSE))
    }

    static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite else { return "–" }
        let s = Int(seconds.rounded())
        return s >= 3600 ? "\(s / 3600)h\(String(format: "%02d", s % 3600 / 60))m" : s >= 60 ? "\(s / 60)m\(String(format: "%02d", s % 60))s" : "\(s)s"
    }
}
