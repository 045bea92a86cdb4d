// `pararl sft`: supervised fine-tuning of the policy with the modality-weighted masked objective
// (DESIGN §3.3), with progress, SQLite metrics, atomic checkpoints and exact resume.
import ArgumentParser
import Foundation
import ParaRLCore
import ParaRLPolicy

struct SFTCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sft",
        abstract: "Supervised fine-tuning of the policy on thinking-aware quadruplets.",
        discussion: """
            Per sample: t ~ U(eps, 1], output tokens masked with probability t, loss Σ w·CE with w_text = 1/t and
            w_img = 1 normalised by the output length; 10% text- and 10% image-condition dropout; AdamW with
            warm-up + cosine and gradient clipping. Writes RUN/run.sqlite (steps, held-out evaluations,
            checkpoints), RUN/config.yaml (the resolved config), RUN/tokenizer/ and RUN/checkpoints/step-N/
            (config.json + model.safetensors in MMaDA format, optimizer, trainer state).
            Examples:
              pararl world generate --split train --count 2000 --out data/world
              pararl tokenizer fit --data data/world --out vq.safetensors
              pararl sft --config rl-configs/sft-tiny.yaml --run-dir runs/sft-tiny
              pararl sft --resume runs/sft-tiny
            """)

    @Option(help: "SFT config YAML (rl-configs/sft-*.yaml).") var config: String?
    @Option(help: "Run folder for a new run.") var runDir: String = "runs/sft"
    @Option(help: "Continue the run in this folder from its newest checkpoint.") var resume: String?
    @Option(help: "Stop after this many completed steps (a checkpoint is written there).") var stopAfter: Int?
    @OptionGroup var compute: ComputeOptions

    func validate() throws {
        if config == nil && resume == nil { throw ValidationError("give --config for a new run or --resume RUN_DIR") }
        if config != nil && resume != nil { throw ValidationError("--config and --resume exclude each other (a run keeps its config)") }
        if let s = stopAfter, s < 1 { throw ValidationError("--stop-after must be at least 1") }
    }

    func run() throws {
        compute.apply()
        let trainer: SFTTrainer
        if let resume {
            trainer = try SFTRun.resume(runDirectory: URL(fileURLWithPath: resume), codeVersion: ParaRLVersion.string)
            log("resumed \(resume) at step \(trainer.step)")
        } else {
            let url = URL(fileURLWithPath: config ?? "")
            trainer = try SFTRun.start(config: try SFTConfig.load(url), configURL: url, runDirectory: URL(fileURLWithPath: runDir),
                                       codeVersion: ParaRLVersion.string)
            log("run \(runDir): \(trainer.policy.config.transformer.parameterCount) parameters, sequence length \(trainer.layout.length), "
                + "batch \(trainer.config.batchSize), \(trainer.config.steps) steps, \(Parallel.threadCount) threads")
        }
        let terminal = isatty(fileno(stderr)) != 0
        let start = Date()
        try trainer.train(until: stopAfter) { event in
            switch event {
            case .step(let r):
                guard r.step % trainer.config.logEvery == 0 || r.step == r.steps || terminal else { return }
                let line = String(format: "step %d/%d loss %.4f (text %.3f acc %.2f, image %.3f acc %.2f) |g| %.3f lr %.2e%@ %.2f steps/s ETA %.0f s",
                                  r.step, r.steps, r.result.loss, r.result.textLoss, r.result.textAccuracy, r.result.imageLoss,
                                  r.result.imageAccuracy, r.gradNorm, r.lr, r.skipped ? " SKIPPED (non-finite)" : "",
                                  r.stepsPerSecond, r.etaSeconds)
                if terminal {
                    FileHandle.standardError.write(Data(("\r" + line + "\u{1B}[K").utf8))
                    if r.step % trainer.config.logEvery == 0 { FileHandle.standardError.write(Data("\n".utf8)) }
                } else {
                    log(line)
                }
            case .evaluation(let step, let r, let n):
                log(String(format: "eval step %d on %d held-out samples: loss %.4f, text CE %.3f masked-token accuracy %.3f (%d tokens), image CE %.3f accuracy %.3f (%d tokens)",
                           step, n, r.loss, r.textLoss, r.textAccuracy, r.textMasked, r.imageLoss, r.imageAccuracy, r.imageMasked))
            case .checkpoint(let step, let folder):
                log("checkpoint step \(step): \(folder.path)")
            }
        }
        log(String(format: "done: step %d in %.1f s", trainer.step, Date().timeIntervalSince(start)))
    }

    private func log(_ s: String) { FileHandle.standardError.write(Data((s + "\n").utf8)) }
}
