// `pararl sft`: supervised fine-tuning of the policy with the modality-weighted masked objective
// (docs/design.md §3.3), with progress, SQLite metrics, atomic checkpoints and exact resume; data-parallel under mpirun.
import ArgumentParser
import Foundation
import ParaRLMedia
import ParaRLRunKit
import ParaRLCore
import ParaRLSFT
import ParaRLDistributed
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
            Under mpirun the run is data-parallel: each rank takes its share of every batch of batch_size
            samples (the same samples and random draws as one process), gradients are averaged in rank order,
            rank 0 writes the run folder; threads per rank default to the node's cores / ranks on the node.
            Examples:
              pararl world generate --split train --count 2000 --out data/world
              pararl tokenizer fit --data data/world --out vq.safetensors
              pararl sft --config rl-configs/sft-tiny.yaml --run-dir runs/sft-tiny
              pararl sft --resume runs/sft-tiny
              mpirun -np 2 pararl sft --config rl-configs/sft-tiny.yaml --run-dir runs/sft-tiny-mpi
            """)

    @Option(help: "SFT config YAML (rl-configs/sft-*.yaml).") var config: String?
    @Option(help: "Run folder for a new run.") var runDir: String = "runs/sft"
    @Option(help: "Continue the run in this folder from its newest checkpoint.") var resume: String?
    @Option(help: "Stop after this many completed steps (a checkpoint is written there).") var stopAfter: Int?
    @Flag(help: "Also print every step, evaluation and checkpoint as one JSON object per line on stdout (full precision).")
    var json = false
    @OptionGroup var compute: ComputeOptions

    /// A `--json` line: `event` is step, eval or checkpoint; the loss fields as in RUN/run.sqlite.
    struct EventLine: Encodable {
        var event: String, step: Int
        var loss: Double?, textLoss: Double?, imageLoss: Double?, textAccuracy: Double?, imageAccuracy: Double?
        var textMasked: Int?, imageMasked: Int?, gradNorm: Double?, lr: Double?, skipped: Bool?, truncated: Int?
        var samples: Int?, path: String?
        enum CodingKeys: String, CodingKey {
            case event, step, loss, textLoss = "text_loss", imageLoss = "image_loss", textAccuracy = "text_accuracy"
            case imageAccuracy = "image_accuracy", textMasked = "text_masked", imageMasked = "image_masked"
            case gradNorm = "grad_norm", lr, skipped, truncated, samples, path
        }
        init(_ event: String, step: Int, _ r: SFTLossResult? = nil) {
            self.event = event; self.step = step
            loss = r?.loss; textLoss = r?.textLoss; imageLoss = r?.imageLoss; textAccuracy = r?.textAccuracy
            imageAccuracy = r?.imageAccuracy; textMasked = r?.textMasked; imageMasked = r?.imageMasked
        }
    }

    func validate() throws {
        try validateStartOrResume(config: config, resume: resume, stopAfter: stopAfter)
    }

    func run() throws {
        let communicator = try MPILaunch.start(compute)
        try MPILaunch.run(communicator, resume: "pararl sft --resume \(resume ?? runDir)") { try train(communicator) }
    }

    private func train(_ communicator: any Communicator) throws {
        let log = RankLog(communicator)
        let trainer: SFTTrainer
        if let resume {
            trainer = try SFTRun.resume(runDirectory: URL(fileURLWithPath: resume), codeVersion: ParaRLVersion.string,
                                        communicator: communicator)
            log("resumed \(resume) at step \(trainer.step)")
        } else {
            let url = URL(fileURLWithPath: config ?? "")
            trainer = try SFTRun.start(config: try SFTConfig.load(url), configURL: url, runDirectory: URL(fileURLWithPath: runDir),
                                       codeVersion: ParaRLVersion.string, communicator: communicator)
            log("run \(runDir): \(trainer.policy.config.transformer.parameterCount) parameters, sequence length \(trainer.layout.length), "
                + "batch \(trainer.config.batchSize), \(trainer.config.steps) steps, \(Parallel.threadCount) threads")
        }
        if communicator.size > 1 {
            log("data-parallel over \(communicator.size) ranks: \(trainer.share.count) samples per rank per step, \(Parallel.threadCount) threads per rank")
        }
        trainer.failure = try MPILaunch.injectedFailureStep(rank: communicator.rank)
        let start = Date()
        let encoder = JSONText.outputEncoder()
        try trainer.train(until: stopAfter) { event in
            if json {
                var line: EventLine
                switch event {
                case .step(let r):
                    line = EventLine("step", step: r.step, r.result)
                    line.gradNorm = r.gradNorm.isFinite ? r.gradNorm : nil
                    line.lr = r.lr; line.skipped = r.skipped; line.truncated = r.truncated
                case .evaluation(let step, let r, let n):
                    line = EventLine("eval", step: step, r)
                    line.samples = n
                case .checkpoint(let step, let folder):
                    line = EventLine("checkpoint", step: step)
                    line.path = folder.path
                }
                if let data = try? encoder.encode(line) { FileHandle.standardOutput.write(data + Data("\n".utf8)) }
            }
            switch event {
            case .step(let r):
                guard r.step % trainer.config.logEvery == 0 || r.step == r.steps || log.terminal else { return }
                let line = String(format: "step %d/%d loss %.4f (text %.3f acc %.2f, image %.3f acc %.2f) |g| %.3f lr %.2e%@ %.2f steps/s ETA %.0f s",
                                  r.step, r.steps, r.result.loss, r.result.textLoss, r.result.textAccuracy, r.result.imageLoss,
                                  r.result.imageAccuracy, r.gradNorm, r.lr, r.skipped ? " SKIPPED (non-finite)" : "",
                                  r.stepsPerSecond, r.etaSeconds)
                log.progress(line)
                if r.step % trainer.config.logEvery == 0 { log.endProgress() }
            case .evaluation(let step, let r, let n):
                log(String(format: "eval step %d on %d held-out samples: loss %.4f, text CE %.3f masked-token accuracy %.3f (%d tokens), image CE %.3f accuracy %.3f (%d tokens)",
                           step, n, r.loss, r.textLoss, r.textAccuracy, r.textMasked, r.imageLoss, r.imageAccuracy, r.imageMasked))
            case .checkpoint(let step, let folder):
                log("checkpoint step \(step): \(folder.path)")
            }
        }
        log(String(format: "done: step %d in %.1f s", trainer.step, Date().timeIntervalSince(start)))
    }
}
