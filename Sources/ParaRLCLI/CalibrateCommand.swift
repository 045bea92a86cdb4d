// `pararl calibrate`: estimates μ_CLIP and σ_CLIP of the reward (DESIGN §3.5) on a random 1% of the training data.
import ArgumentParser
import Foundation
import ParaRLCLIP
import ParaRLCore
import ParaRLSampling
import ParaRLTrainer
import ParaRLWorld

struct CalibrateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "calibrate",
        abstract: "Estimate μ_CLIP and σ_CLIP on a random 1% of the training data for the reward normalisation.",
        discussion: """
            Scores reference pairs (each sampled training task's reasoning trace with its rendered target scene)
            with the CLIP model and writes μ, the population σ and how they were measured to
            <run>/clip_calibration.json, where the trainer reads them. R = ½(1 + clip((c − μ)/σ, −1, 1)).
            The source `rollouts` scores the initial policy's partial outputs instead: one rollout for each of a random
            1% of the training prompts, its partial text and image at every step 1…T (use it when reference pairs score
            far above what the policy produces, which clips every reward to 0).
            Examples:
              pararl calibrate --model runs/clip-tiny/model --run runs/pararl-s3
              pararl calibrate --model runs/clip-tiny/model --run runs/pararl-s3 --source rollouts \
                  --policy runs/sft-tiny/step-00000400 --sampler-config rl-configs/sample-tiny.yaml
            """)

    enum Source: String, ExpressibleByArgument { case references, rollouts }

    @Option(help: "CLIP model folder.") var model: String
    @Option(name: .customLong("run"), help: "Run folder the calibration is written into.") var runFolder: String
    @Option(help: "Data source: references (default) or rollouts.") var source: Source = .references
    @Option(help: "Seed of the world's task source.") var worldSeed: UInt64 = 0
    @Option(help: "Training tasks the subset is drawn from.") var trainTasks: Int = 20_000
    @Option(help: "Share of the training data scored.") var fraction: Double = 0.01
    @Option(help: "Seed of the subset.") var seed: UInt64 = 0
    @Option(help: "Policy checkpoint whose rollouts are scored (source rollouts).") var policy: String?
    @Option(help: "Sampler YAML for source rollouts (default: the sampler defaults).") var samplerConfig: String?
    @Flag(help: "Print the calibration as JSON.") var json = false
    @OptionGroup var vocabulary: CLIPVocabularyOptions
    @OptionGroup var compute: ComputeOptions

    func validate() throws {
        if trainTasks < 1 { throw ValidationError("--train-tasks must be at least 1, got \(trainTasks)") }
        if !(fraction > 0 && fraction <= 1) { throw ValidationError("--fraction must be in (0, 1], got \(fraction)") }
        if source == .rollouts && policy == nil {
            throw ValidationError("--source rollouts needs --policy CHECKPOINT (the policy whose partial rollouts are scored)")
        }
        if source == .references && (policy != nil || samplerConfig != nil) {
            throw ValidationError("--policy and --sampler-config only apply to --source rollouts")
        }
    }

    func run() throws {
        compute.apply()
        let scorer = CLIPScorer(model: try CLIPModel.load(directory: URL(fileURLWithPath: model)),
                                tokenizer: try vocabulary.tokenizer())
        let calibration: CLIPCalibration
        switch source {
        case .references:
            var rng = RandomStream(seed: seed).split("calibrate")
            let pairs = CLIPCalibration.referencePairs(source: WorldTaskSource(seed: worldSeed), trainTasks: trainTasks,
                                                       fraction: fraction, rng: &rng)
            let scores = try scorer.scores(texts: pairs.texts, images: pairs.images)
            let (mu, sigma) = CLIPCalibration.statistics(scores)
            calibration = CLIPCalibration(mu: mu, sigma: sigma, count: scores.count, source: source.rawValue,
                                          model: model, seed: seed, fraction: fraction)
        case .rollouts:
            let bundle = try PolicyBundle.load(checkpoint: URL(fileURLWithPath: policy ?? ""))
            let sampler = try samplerConfig.map { try SamplerConfig.load(URL(fileURLWithPath: $0)) } ?? SamplerConfig()
            let prompts = max(1, Int((Double(trainTasks) * fraction).rounded()))
            calibration = try RolloutCalibration.estimate(bundle: bundle, sampler: sampler, scorer: scorer, prompts: prompts,
                                                          batch: 8, seed: seed, worldSeed: worldSeed, model: model,
                                                          trainTasks: trainTasks)
        }
        let runURL = URL(fileURLWithPath: runFolder)
        try FileManager.default.createDirectory(at: runURL, withIntermediateDirectories: true)
        try calibration.write(to: runURL.appendingPathComponent(CLIPCalibration.fileName))
        if json { try printJSON(calibration) } else {
            print(String(format: "μ_CLIP %.4f  σ_CLIP %.4f  over %d scores (%@) → %@", calibration.mu, calibration.sigma,
                         calibration.count, source.rawValue,
                         runURL.appendingPathComponent(CLIPCalibration.fileName).path))
        }
    }
}
