// `pararl ablate`: trains every variant of an ablation config (one run folder per variant and seed, resuming
// interrupted ones, skipping finished ones), then prints the paper-form table computed from the run logs.
import ArgumentParser
import Foundation
import ParaRLCore
import ParaRLRunKit
import ParaRLDistributed
import ParaRLReport
import ParaRLTrainer

struct AblateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ablate",
        abstract: "Run reward-level and s ablations from one base config and print the paper-form table.",
        discussion: """
            The config (rl-configs/ablation-s.yaml) names a base ParaRL config, seeds, a step budget \
            and variants that change some of its keys. Each (variant, seed) trains into \
            OUT/<variant>-seed<seed>/ from the same SFT checkpoint; the trainer evaluates the SFT start \
            (step 0) and the final checkpoint with the judge and stores both in the run's \
            rollouts.sqlite. The table (Text Qual., Text Align., Image Cons., Image Align., Image Qual., \
            Output Align., Overall) is computed from those logs: mean ± sample standard deviation over \
            seeds, also written to OUT/ablation.md and OUT/ablation.json. Run the command again to \
            resume: finished runs are skipped, started ones continue from their last checkpoint.
            Examples:
              pararl ablate --config rl-configs/ablation-s.yaml
              pararl ablate --config rl-configs/ablation-s.yaml --variant s2
              pararl ablate --config rl-configs/ablation-s.yaml --table-only --json
              pararl report --db runs/ablation-s --out ablation.html
            """)

    @Option(help: "Ablation config YAML.") var config: String
    @Option(help: "Folder of the run folders (default: the config's `out`).") var out: String?
    @Option(help: "Run only this variant (repeatable; default: all). The table still covers every variant with logs.")
    var variant: [String] = []
    @Option(help: "Run only this seed (repeatable; default: all).") var seed: [UInt64] = []
    @Flag(help: "Train seed by seed (every variant of the first seed, then the next) instead of variant by variant.")
    var seedMajor = false
    @Flag(help: "Train nothing: compute the table from the existing run folders.") var tableOnly = false
    @Flag(help: "Print the table as JSON.") var json = false
    @OptionGroup var compute: ComputeOptions

    func run() throws {
        let plan = try AblationPlan.load(URL(fileURLWithPath: config), out: out.map { URL(fileURLWithPath: $0) })
        let unknown = variant.filter { name in !plan.variants.contains { $0.name == name } }
        if !unknown.isEmpty {
            throw ValidationError("unknown variant(s) \(unknown.joined(separator: ", ")); the config has \(plan.variants.map(\.name).joined(separator: ", "))")
        }
        if !tableOnly {
            let communicator = try MPILaunch.start(compute)
            try MPILaunch.run(communicator, resume: "pararl ablate --config \(config)\(out.map { " --out \($0)" } ?? "") (finished runs are skipped)") {
                // One ablation at a time per output folder (each run folder is locked by its trainer too).
                let lock = communicator.isRoot ? try RunLock(runDirectory: plan.outDirectory) : nil
                try withExtendedLifetime(lock) { try train(plan, communicator) }
            }
            guard communicator.isRoot else { return }
        }
        try printTable(plan)
    }

    private func train(_ plan: AblationPlan, _ communicator: any Communicator) throws {
        let log = RankLog(communicator)
        let chosen = plan.runs.filter { (variant.isEmpty || variant.contains($0.variant)) && (seed.isEmpty || seed.contains($0.seed)) }
        let runs = seedMajor
            ? chosen.sorted { ($0.seed, plan.variantIndex($0.variant)) < ($1.seed, plan.variantIndex($1.variant)) } : chosen
        for (i, run) in runs.enumerated() {
            let label = "[\(i + 1)/\(runs.count) \(run.variant) seed \(run.seed)]"
            guard let (trainer, state) = try AblationPlan.trainer(for: run, baseURL: plan.baseURL, communicator: communicator,
                                                                  codeVersion: ParaRLVersion.string) else {
                log("\(label) finished earlier: \(run.directory.path)")
                continue
            }
            let c = trainer.config
            switch state {
            case .resumable(let step): log("\(label) resuming at step \(step): \(run.directory.path)")
            case .incomplete: log("\(label) the folder had no checkpoint; moved aside, starting again: \(run.directory.path)")
            default: log("\(label) \(c.objective.rawValue) objective, s = \(c.effectiveSampledSteps), \(c.steps) steps: \(run.directory.path)")
            }
            if trainer.step == 0, let reused = try plan.stepZeroSource(for: run, trainer: trainer) {
                trainer.reusedStepZero = reused
                log("\(label) step-0 evaluations (same start, seed and evaluation settings) copied from \(reused.source)")
            }
            let start = Date()
            try trainer.train { event in
                switch event {
                case .step(let r):
                    let s = r.record
                    let line = String(format: "%@ step %d/%d reward %.3f align %.1f kl %.2e clip %.3f | %.1f s/step ETA %@",
                                      label, s.step, r.steps, s.rewardMean, s.outputAlignment, s.kl,
                                      s.clipFractionLow + s.clipFractionHigh, s.secondsTotal, TrainCommand.duration(r.etaSeconds))
                    log.progress(line)
                case .evaluation(let step, let report, let seconds):
                    log.endProgress()
                    log("\(label) " + TrainCommand.evaluationLine(step: step, report, seconds: seconds))
                case .selection(let step, let report, let seconds):
                    log.endProgress()
                    log("\(label) " + TrainCommand.selectionLine(step: step, report, seconds: seconds))
                case .rewardEvaluation(let summary, let seconds):
                    log.endProgress()
                    log("\(label) " + TrainCommand.rewardLine(summary, seconds: seconds))
                case .checkpoint:
                    break
                }
            }
            log.endProgress()
            log(String(format: "%@ done in %.0f s", label, Date().timeIntervalSince(start)))
        }
    }

    private func printTable(_ plan: AblationPlan) throws {
        var variants: [(name: String, runs: [LoggedRun])] = []
        for v in plan.variants {
            var runs: [LoggedRun] = []
            for run in plan.runs where run.variant == v.name {
                let path = run.directory.appendingPathComponent("rollouts.sqlite").path
                guard FileManager.default.fileExists(atPath: path) else { continue }
                runs += try LogCatalog(locations: [path]).runs
            }
            variants.append((v.name, runs))
        }
        let table = try AblationTable.compute(variants: variants)
        let markdown = table.markdown()
        let jsonText = try Inspect.json(table)
        do {
            try FileManager.default.createDirectory(at: plan.outDirectory, withIntermediateDirectories: true)
            try Data((markdown + "\n").utf8).write(to: plan.outDirectory.appendingPathComponent("ablation.md"), options: .atomic)
            try Data((jsonText + "\n").utf8).write(to: plan.outDirectory.appendingPathComponent("ablation.json"), options: .atomic)
        } catch {
            throw ReportError.cannotWrite(path: plan.outDirectory.path, reason: error.localizedDescription)
        }
        print(json ? jsonText : markdown)
    }
}
