// `pararl reward-agreement`: how well a run config's reward (and the other reward source) orders a checkpoint's own
// outputs as the judge does — pooled and within-task Spearman ρ and pair concordance per judge axis on the final
// outputs, and per t the within-task ρ of the partial outputs' score against the final output alignment.
import ArgumentParser
import Foundation
import ParaRLCore
import ParaRLDistributed
import ParaRLReport
import ParaRLRunKit
import ParaRLSampling
import ParaRLStorage
import ParaRLTrainer

struct RewardAgreementCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reward-agreement",
        abstract: "Measure how well the reward orders a checkpoint's own rollouts as the judge does.",
        discussion: """
            Samples --rollouts rollouts of --tasks evaluation tasks (spread over the split; sampler seeds depend
            only on the config's seed, the task and the rollout, as the paired reward evaluation's), judges every
            final output, and scores the final outputs and the partial outputs at --grid with each reward source
            (--sources; default: the config's `reward` first, then the other one). Printed per source: for each
            judge axis the pooled Spearman ρ over all outputs, the mean within-task ρ among a task's rollouts
            (what group advantages use; tasks with a constant side are left out) and the within-task pair
            concordance (reward ties count ½); and per t the within-task ρ of the score at t against the final
            output alignment. Before trusting a reward model, its within-task ρ with output alignment should be
            clearly positive at t = T and at t = T/2.
            With --run RUN (and no --checkpoint) the run's start (its init_checkpoint, step 0) and its newest
            checkpoint are measured with RUN/config.yaml, and the rows go into RUN's rollout log, where
            `pararl report` shows them.
            Examples:
              pararl reward-agreement --checkpoint models/world-policy --config rl-configs/pararl-s3.yaml
              pararl reward-agreement --checkpoint runs/s3/checkpoints/step-00000040 --config runs/s3/config.yaml \\
                  --tasks 60 --rollouts 4 --json --out runs/s3/agreement-00000040.json
              pararl reward-agreement --run runs/s3
            """)

    @Option(help: "Policy checkpoint folder whose outputs are scored.") var checkpoint: String?
    @Option(help: "Run config YAML: its sampler, seed, world_seed, reward, clip_model and clip_vocabulary.") var config: String?
    @Option(name: .customLong("run"), help: "A run folder: measure its start and newest checkpoint and log the rows there.")
    var runDir: String?
    @Option(help: "Evaluation tasks, spread over the split (1…300).") var tasks = 60
    @Option(help: "Rollouts per task (2…64).") var rollouts = 4
    @Option(help: "Comma-separated steps t of the partial outputs (default: T/4, T/2, 3T/4, T).") var grid: String?
    @Option(help: "Comma-separated reward sources among clip, world (default: the config's reward, then the other).")
    var sources: String?
    @Option(help: "Also write the report as JSON to this file.") var out: String?
    @Flag(help: "Print the report as JSON.") var json = false
    @OptionGroup var compute: ComputeOptions

    func validate() throws {
        if config == nil && runDir == nil { throw ValidationError("give --config RUN.yaml (with --checkpoint) or --run RUN_DIR") }
        if runDir == nil && checkpoint == nil { throw ValidationError("give --checkpoint CK (or --run RUN_DIR)") }
        guard (1...300).contains(tasks) else { throw ValidationError("--tasks must be in 1…300, got \(tasks)") }
        guard (2...RewardEvalConfig.maxRollouts).contains(rollouts) else {
            throw ValidationError("--rollouts must be in 2…\(RewardEvalConfig.maxRollouts) (a ranking needs two), got \(rollouts)")
        }
    }

    func run() throws {
        compute.apply()
        let log = RankLog(SingleProcessCommunicator())
        let configURL = URL(fileURLWithPath: config ?? URL(fileURLWithPath: runDir ?? "").appendingPathComponent(ParaRLRun.configFile).path)
        let resolved = try ParaRLRun.resolvingPaths(try ParaRLConfig.load(configURL), configURL: configURL)
        let T = resolved.sampler.steps
        let steps = try grid.map { try PolicyLogitsCommand.ints($0, "grid") } ?? AgreementStudy.defaultGrid(samplerSteps: T)
        if let bad = steps.first(where: { !(1...T).contains($0) }) {
            throw ValidationError("--grid: t = \(bad) is outside 1…\(T) (the sampler's steps in \(configURL.path))")
        }
        let chosen = try sources.map { list in
            try list.split(separator: ",").map { name -> RewardSource in
                guard let s = RewardSource(rawValue: name.trimmingCharacters(in: .whitespaces)) else {
                    throw ValidationError("--sources: \"\(name)\" is not a reward source (clip, world)")
                }
                return s
            }
        } ?? [resolved.reward, resolved.reward.other]
        let scorers = try AgreementStudy.scorers(chosen, config: resolved, file: configURL.path)
        let grid = Array(Set(steps)).sorted()
        // (step, checkpoint): the one given, or a run's start and newest checkpoint.
        var targets: [(step: Int, path: String)] = []
        if let checkpoint {
            targets = [(0, checkpoint)]
        } else if let runDir {
            targets = [(0, resolved.initCheckpoint)]
            if let last = try TrainingCheckpoint.completed(runDirectory: URL(fileURLWithPath: runDir)).last { targets.append((last.step, last.url.path)) }
        }
        log("reward-agreement: \(tasks) tasks × \(rollouts) rollouts, t ∈ \(grid), sources \(scorers.map(\.name).joined(separator: ", ")), "
            + "\(Parallel.threadCount) threads")
        var reports: [AgreementReport] = []
        for target in targets {
            let bundle: PolicyBundle
            do { bundle = try PolicyBundle.load(checkpoint: URL(fileURLWithPath: target.path)) } catch {
                throw ValidationError("checkpoint \(target.path): \(error)")
            }
            let start = Date()
            let report = try AgreementStudy.run(bundle: bundle, checkpoint: target.path, sampler: resolved.sampler, seed: resolved.seed,
                                                worldSeed: resolved.worldSeed, tasks: tasks, rollouts: rollouts, grid: grid,
                                                scorers: scorers) { done, total in
                let rate = Double(done) / max(Date().timeIntervalSince(start), 1e-9)
                log.progress(String(format: "step %d: task %d/%d (%.2f tasks/s, ETA %.0f s)", target.step, done, total, rate,
                                    Double(total - done) / max(rate, 1e-9)))
            }
            log.endProgress()
            reports.append(report)
            if checkpoint == nil, let runDir { try Self.record(report, step: target.step, runDirectory: runDir) }
        }
        let encoded = reports.count == 1 ? try Inspect.json(reports[0]) : try Inspect.json(reports)
        if let out {
            do { try Data(encoded.utf8).write(to: URL(fileURLWithPath: out), options: .atomic) } catch {
                throw ValidationError("cannot write \(out): \(error.localizedDescription)")
            }
        }
        if json { print(encoded); return }
        print(reports.map(Self.text).joined(separator: "\n\n"))
    }

    /// Writes a report's rows into the run's rollout log for `step`.
    static func record(_ report: AgreementReport, step: Int, runDirectory: String) throws {
        let path = URL(fileURLWithPath: runDirectory).appendingPathComponent(RolloutLog.fileName).path
        guard FileManager.default.fileExists(atPath: path) else { throw ValidationError("\(path): no rollout log to record the agreement in") }
        let log = try RolloutLog(path: path)
        guard let run = try log.runs().last else { throw ValidationError("\(path): the log holds no run") }
        try log.recordRewardAgreement(runID: run.runID, step: step, report.records(step: step))
    }

    static func f(_ x: Double?) -> String { x.map { String(format: "%+.2f", $0) } ?? "—" }

    static func text(_ r: AgreementReport) -> String {
        var lines = ["\(r.checkpoint): \(r.tasks) tasks × \(r.rollouts) rollouts; judge: "
                     + AgreementStudy.axes.compactMap { a in r.judge[a].map { "\(a) \(String(format: "%.1f", $0))" } }.joined(separator: ", ")]
        for s in r.sources {
            lines.append("")
            lines.append("\(s.reward): mean score of the final outputs \(String(format: "%.2f", s.finalMean))")
            var table = TextTable([("judge axis (t = T)", .left), ("pooled ρ", .right), ("within-task ρ", .right), ("tasks", .right),
                                   ("concordance", .right), ("pairs", .right)])
            for a in s.axes {
                let g = a.agreement
                table.append([a.axis, f(g.pooledSpearman), f(g.withinTaskSpearman), "\(g.withinTaskCount)",
                              g.concordance.map { String(format: "%.2f", $0) } ?? "—", "\(g.concordantPairs)"])
            }
            lines.append(table.render())
            var steps = TextTable([("t: score vs final output alignment", .left), ("pooled ρ", .right), ("within-task ρ", .right),
                                   ("tasks", .right), ("concordance", .right)])
            for row in s.byT {
                let g = row.agreement
                steps.append(["t = \(row.t)", f(g.pooledSpearman), f(g.withinTaskSpearman), "\(g.withinTaskCount)",
                              g.concordance.map { String(format: "%.2f", $0) } ?? "—"])
            }
            lines.append(steps.render())
        }
        return lines.joined(separator: "\n")
    }
}
