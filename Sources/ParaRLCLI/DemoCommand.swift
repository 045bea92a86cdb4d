// `pararl demo`: the embedded default end to end. By default ParaRL from the shipped starting policy and world CLIP
// (models/), with the judge and the paired reward before and after; `--from-scratch` runs every stage real at small
// sizes instead — the built-in world (tasks generated on the fly), the patch-VQ image tokenizer fitted on its scenes,
// a small world CLIP trained contrastively, SFT of a small policy, the reward calibration — then the same ParaRL
// stage, through the same library entry points as `tokenizer fit`, `clip train`, `sft`, `calibrate` and `train`.
import ArgumentParser
import Foundation
import ParaRLCLIP
import ParaRLSFT
import ParaRLRunKit
import ParaRLCore
import ParaRLMedia
import ParaRLPolicy
import ParaRLSampling
import ParaRLStorage
import ParaRLTrainer
import ParaRLWorld

struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "ParaRL on the built-in world in minutes, from the shipped policy (or --from-scratch: every stage).",
        discussion: """
            Default: ParaRL from the shipped starting policy (--policy, models/world-policy) scored by the shipped
            world CLIP (--clip, models/world-clip): --rl-steps steps (s = 3, 2 prompts × G 8), the judge on
            --eval-tasks evaluation tasks and the paired reward (16 fixed tasks × 4 rollouts, every t) before and
            after, every rollout in OUT/pararl/rollouts.sqlite.
            --from-scratch builds both first (sizes are options):
              1. world      tasks of the built-in world (seed 0) generated on the fly; --images scenes rendered
              2. tokenizer  patch VQ (4×4 patches, 256 codes) fitted by k-means on those scenes
              3. clip       the world CLIP of rl-configs/clip-tiny.yaml trained --clip-steps steps with hard negatives
              4. sft        a small policy (d 128, 4 blocks) trained --sft-steps steps with the SFT objective (Eq. 1–2)
              5. calibrate  μ_CLIP, σ_CLIP on 1% of the training tasks' reference pairs (stored), and from the SFT
                            policy's partial rollouts (what the RL run uses: reference pairs score far above a small
                            policy's outputs, which would clip every reward to 0)
              6. pararl     as above, from the small policy and CLIP just trained
            Examples:
              pararl demo --out runs/demo
              pararl demo --from-scratch --out runs/demo-scratch
              sqlite3 runs/demo/pararl/rollouts.sqlite 'SELECT step, reward_mean, kl FROM steps'
            """)

    @Option(help: "Output folder (must not hold a demo yet).") var out: String = "runs/demo"
    @Flag(help: "Build the tokenizer, CLIP and SFT policy here instead of starting from the shipped models.") var fromScratch = false
    @Option(help: "Shipped starting policy folder.") var policy: String = "models/world-policy"
    @Option(help: "Shipped world CLIP folder.") var clip: String = "models/world-clip"
    @Option(help: "World scenes rendered for the tokenizer.") var images: Int = 300
    @Option(help: "CLIP training steps (clip-tiny.yaml trains 3000).") var clipSteps: Int = 200
    @Option(help: "SFT steps of the small policy (batch 16).") var sftSteps: Int = 200
    @Option(help: "ParaRL steps, 2 prompts × 8 rollouts each (default 10; 2 with --from-scratch).") var rlSteps: Int?
    @Option(help: "Evaluation tasks judged before and after ParaRL (default 30; 8 with --from-scratch).") var evalTasks: Int?
    @Option(help: "bpe_simple_vocab_16e6.txt.gz (default: PARARL_CLIP_VOCAB, else .cache/clip/).") var vocab: String?
    @OptionGroup var compute: ComputeOptions

    func validate() throws {
        for (name, value, least) in [("--images", images, 8), ("--clip-steps", clipSteps, 1), ("--sft-steps", sftSteps, 1),
                                     ("--rl-steps", rlSteps ?? 1, 1), ("--eval-tasks", evalTasks ?? 1, 1)] where value < least {
            throw ValidationError("\(name) must be at least \(least), got \(value)")
        }
    }

    func run() throws {
        compute.apply()
        let outURL = URL(fileURLWithPath: out).standardizedFileURL
        let fm = FileManager.default
        if fm.fileExists(atPath: outURL.appendingPathComponent("pararl").path) {
            throw ValidationError("\(outURL.path) already holds a demo; choose another --out")
        }
        try fm.createDirectory(at: outURL, withIntermediateDirectories: true)
        let start = Date()
        var stageTimes: [(String, Double)] = []
        func stage(_ name: String, _ body: () throws -> Void) rethrows {
            say("== \(name) (at \(Self.clock(Date().timeIntervalSince(start))))")
            let t = Date()
            try body()
            stageTimes.append((name, Date().timeIntervalSince(t)))
        }
        let (policyURL, clipURL): (URL, URL)
        if fromScratch {
            (policyURL, clipURL) = try buildFromScratch(outURL, stage: stage)
        } else {
            policyURL = URL(fileURLWithPath: policy).standardizedFileURL
            clipURL = URL(fileURLWithPath: clip).standardizedFileURL
            try stage("1. shipped models") {
                for (url, what) in [(policyURL, "policy"), (clipURL, "CLIP")]
                    where !fm.fileExists(atPath: url.appendingPathComponent("config.json").path) {
                    throw ValidationError("no shipped \(what) at \(url.path) (run from the repository root, pass --\(what.lowercased()) DIR, "
                                          + "or --from-scratch to train one here)")
                }
                let bundle = try PolicyBundle.load(checkpoint: policyURL)
                _ = try CLIPModel.load(directory: clipURL)
                say("policy \(policyURL.path): \(bundle.policy.config.transformer.parameterCount) parameters; CLIP \(clipURL.path)")
            }
        }
        try reinforce(outURL, policy: policyURL, clip: clipURL, stage: stage, start: start, stageTimes: { stageTimes })
    }

    /// Stages 1–5 of --from-scratch: the image tokenizer, CLIP and SFT policy built here; returns their folders.
    private func buildFromScratch(_ outURL: URL, stage: ((String, () throws -> Void) throws -> Void)) throws -> (URL, URL) {
        let fm = FileManager.default
        let world = WorldTaskSource(seed: 0), renderer = SceneRenderer(imageSize: 32)

        // 1–2. World scenes and the image tokenizer.
        let vqURL = outURL.appendingPathComponent("tokenizer/vq.safetensors")
        try stage("1-2. world + image tokenizer") {
            var scenes: [RGBImage] = []
            for i in 0..<images {
                let task = world.trainTask(index: i)
                scenes.append(renderer.render(task.targetScene))
                if let input = task.inputScene { scenes.append(renderer.render(input)) }
            }
            try fm.createDirectory(at: vqURL.deletingLastPathComponent(), withIntermediateDirectories: true)
            let fit = try PatchVQ.fit(images: scenes, patchSize: 4, codebookSize: 256, iterations: 10, seed: 0)
            try fit.tokenizer.save(to: vqURL)
            let q = try fit.tokenizer.quality(on: Array(scenes.prefix(100)))
            say(String(format: "%d scenes, %d distinct patches → %d codes; reconstruction PSNR %.1f dB, codebook use %.0f%%",
                       scenes.count, fit.distinctPatches, fit.tokenizer.codeCount, q.psnr, 100 * q.codebookUsage))
        }

        // 3. CLIP.
        let clipURL = outURL.appendingPathComponent("clip/model")
        let tokenizer = try CLIPTokenizer(vocabularyURL: CLIPTokenizer.locateVocabulary(explicit: vocab, repoRoot: nil))
        try stage("3. CLIP") {
            var settings = CLIPTrainConfig()
            settings.steps = clipSteps
            settings.warmupSteps = max(1, clipSteps / 10)
            settings.evalScenes = 100
            settings.out = clipURL.deletingLastPathComponent().path
            let e = try CLIPTrainRun.run(config: settings, tokenizer: tokenizer) { p in
                say(String(format: "clip step %d/%d loss %.3f %.1f steps/s", p.step, p.steps, p.meanLoss, p.stepsPerSecond))
            }.evaluation
            say(String(format: "retrieval top-1 %.2f, hard-negative win rate %.2f on %d scenes", e.retrievalTop1, e.hardNegativeWinRate, e.scenes))
        }

        // 4. SFT of a small policy.
        let sftURL = outURL.appendingPathComponent("sft")
        var sftCheckpoint = sftURL
        try stage("4. SFT") {
            var architecture = PolicyArchitecture()
            architecture.dModel = 128; architecture.nLayers = 4; architecture.nHeads = 4; architecture.mlpHiddenSize = 352
            let modelURL = outURL.appendingPathComponent("model-demo.yaml")
            try Data(try StrictYAML.encode(architecture).utf8).write(to: modelURL)
            var config = SFTConfig()
            config.model = modelURL.path
            config.imageTokenizer = vqURL.path
            config.instructionLength = 40
            config.textLength = 96
            config.batchSize = 16
            config.steps = sftSteps
            config.lr = 2e-3
            config.warmupSteps = max(1, sftSteps / 15)
            config.minLRRatio = 0.1
            config.beta2 = 0.95
            config.evalEvery = 0
            config.evalSamples = 32
            config.checkpointEvery = sftSteps
            config.logEvery = 25
            let configURL = outURL.appendingPathComponent("sft-demo.yaml")
            try Data(try StrictYAML.encode(config).utf8).write(to: configURL)
            let trainer = try SFTRun.start(config: config, configURL: configURL, runDirectory: sftURL, codeVersion: ParaRLVersion.string)
            say("\(trainer.policy.config.transformer.parameterCount) parameters, sequence length \(trainer.layout.length)")
            try trainer.train { event in
                switch event {
                case .step(let r) where r.step % 25 == 0 || r.step == r.steps:
                    say(String(format: "sft step %d/%d loss %.3f (text acc %.2f, image acc %.2f) %.2f steps/s ETA %.0f s", r.step, r.steps,
                               r.result.loss, r.result.textAccuracy, r.result.imageAccuracy, r.stepsPerSecond, r.etaSeconds))
                case .evaluation(let step, let r, _):
                    say(String(format: "held-out at step %d: text accuracy %.2f, image accuracy %.2f", step, r.textAccuracy, r.imageAccuracy))
                case .checkpoint(_, let folder):
                    sftCheckpoint = folder
                default: break
                }
            }
        }

        // 5. Calibration on reference pairs (stored for comparison); the RL run calibrates on the policy's rollouts.
        try stage("5. calibrate") {
            let scorer = CLIPScorer(model: try CLIPModel.load(directory: clipURL), tokenizer: tokenizer)
            let c = try CLIPCalibration.estimate(.references, scorer: scorer, worldSeed: 0, trainTasks: CLIPCalibration.trainTasks,
                                                 count: CLIPCalibration.subsetSize(trainTasks: CLIPCalibration.trainTasks, fraction: 0.01),
                                                 fraction: 0.01, seed: 0, model: clipURL.path)
            try c.write(to: outURL.appendingPathComponent("clip_calibration.references.json"))
            say(String(format: "reference pairs: μ_CLIP %.2f σ_CLIP %.2f over %d pairs (the RL run re-estimates on rollouts)", c.mu, c.sigma, c.count))
        }
        return (sftCheckpoint, clipURL)
    }

    /// ParaRL from `policy` scored by `clip`, with the judge and the paired reward before and after, then the summary.
    private func reinforce(_ outURL: URL, policy: URL, clip: URL, stage: ((String, () throws -> Void) throws -> Void), start: Date,
                           stageTimes: () -> [(String, Double)]) throws {
        let rlSteps = self.rlSteps ?? (fromScratch ? 2 : 10), evalTasks = self.evalTasks ?? (fromScratch ? 8 : 30)
        let runURL = outURL.appendingPathComponent("pararl")
        var before: JudgeReport?, after: JudgeReport?
        var pairedBefore: PairedRewardSummary?, pairedAfter: PairedRewardSummary?
        try stage(fromScratch ? "6. ParaRL" : "2. ParaRL") {
            var config = ParaRLConfig()
            config.initCheckpoint = policy.path
            config.clipModel = clip.path
            config.clipVocabulary = vocab
            config.calibration = ParaRLConfig.rolloutCalibration
            config.calibrationPrompts = 8
            config.promptsPerStep = 2
            config.steps = rlSteps
            config.lr = 1e-4
            config.warmupSteps = 0  // a handful of steps: every one updates at the peak rate
            config.evalEvery = 0
            config.evalTasks = evalTasks
            config.checkpointEvery = rlSteps
            if fromScratch { config.rewardEval.tasks = 8 }  // the small policy's demo stays within minutes
            let configURL = outURL.appendingPathComponent("pararl-demo.yaml")
            try Data(try config.yaml().utf8).write(to: configURL)
            let trainer = try ParaRLRun.start(configURL: configURL, runDirectory: runURL, codeVersion: ParaRLVersion.string)
            say(String(format: "calibrated on the starting policy's rollouts: μ_CLIP %.2f σ_CLIP %.2f", trainer.calibration.mu, trainer.calibration.sigma))
            try trainer.train { event in
                switch event {
                case .step(let r):
                    let s = r.record
                    say(String(format: "rl step %d/%d reward %.3f±%.3f align %.1f kl %.2e clip %.3f |g| %.3f %.0f s/step (rollout %.0f, score %.1f, update %.0f)",
                               s.step, r.steps, s.rewardMean, s.rewardStd, s.outputAlignment, s.kl, s.clipFractionLow + s.clipFractionHigh,
                               s.gradNorm, s.secondsTotal, s.secondsRollout, s.secondsScoring, s.secondsUpdate))
                case .evaluation(let step, let report, let seconds):
                    if step == 0 { before = report } else { after = report }
                    say(TrainCommand.evaluationLine(step: step, report, seconds: seconds))
                case .selection(let step, let report, let seconds):
                    say(TrainCommand.selectionLine(step: step, report, seconds: seconds))
                case .rewardEvaluation(let summary, let seconds):
                    if summary.step == 0 { pairedBefore = summary } else { pairedAfter = summary }
                    say(TrainCommand.rewardLine(summary, seconds: seconds))
                case .checkpoint(_, let folder):
                    say("checkpoint: \(folder.path)")
                }
            }
        }

        let total = Date().timeIntervalSince(start)
        say("")
        say("== done in \(Self.clock(total)) (" + stageTimes().map { "\($0.0) \(Self.clock($0.1))" }.joined(separator: ", ") + ")")
        if let before, let after {
            say("judge on \(before.count) evaluation tasks   before → after")
            let rows: [(String, Double?, Double?)] = [
                ("text quality", before.overall.textQuality, after.overall.textQuality),
                ("text alignment", before.overall.textAlignment, after.overall.textAlignment),
                ("image consistency", before.overall.imageConsistency, after.overall.imageConsistency),
                ("image alignment", before.overall.imageAlignment, after.overall.imageAlignment),
                ("image quality", before.overall.imageQuality, after.overall.imageQuality),
                ("output alignment", before.overall.outputAlignment, after.overall.outputAlignment),
                ("overall", before.overall.overall, after.overall.overall)]
            for (name, b, a) in rows {
                say("  " + name.padding(toLength: 20, withPad: " ", startingAt: 0)
                    + (b.map { String(format: "%6.1f", $0) } ?? "     –") + " → " + (a.map { String(format: "%6.1f", $0) } ?? "     –"))
            }
        }
        if let pairedBefore, let after = pairedAfter {
            say("paired reward on \(after.tasks) fixed tasks × \(after.rollouts) rollouts (same prompts and sampler seeds), ± se over tasks")
            say("  all t               " + PairedReward.text(pairedBefore.rewardMean, pairedBefore.rewardSE) + " → "
                + PairedReward.text(after.rewardMean, after.rewardSE) + "   change " + PairedReward.text(after.change, after.changeSE, signed: true))
            say("  t = \(after.finalT)".padding(toLength: 22, withPad: " ", startingAt: 0) + PairedReward.text(pairedBefore.rewardMeanFinal, pairedBefore.rewardSEFinal)
                + " → " + PairedReward.text(after.rewardMeanFinal, after.rewardSEFinal) + "   change "
                + PairedReward.text(after.changeFinal, after.changeFinalSE, signed: true))
        }
        let db = runURL.appendingPathComponent("rollouts.sqlite").path
        say("""

            The run database: \(db)
              sqlite3 \(db) 'SELECT step, reward_mean, reward_std, kl, clip_fraction_high, output_alignment, seconds_total FROM steps'
              sqlite3 \(db) 'SELECT group_index, rollout_index, t, round(clip_score,2), round(reward,3), round(advantage,3), partial_text FROM snapshots WHERE step = 1 LIMIT 24'
              sqlite3 \(db) 'SELECT step, scope, overall, output_alignment FROM evaluations ORDER BY scope, step'
              pararl inspect evals --run \(runURL.path)
            Checkpoints (load with pararl sample / pararl eval --checkpoint): \(runURL.appendingPathComponent("checkpoints").path)
            Continue training: pararl train --config \(outURL.appendingPathComponent("pararl-demo.yaml").path) --run-dir \(outURL.appendingPathComponent("pararl-longer").path) --steps 50
            """)
    }

    private func say(_ s: String) {
        FileHandle.standardError.write(Data((s + "\n").utf8))
    }

    static func clock(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return String(format: "%d:%02d", s / 60, s % 60)
    }
}
