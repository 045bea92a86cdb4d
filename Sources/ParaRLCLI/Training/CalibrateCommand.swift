// `pararl calibrate`: estimates μ_CLIP and σ_CLIP of the reward (docs/design.md §3.5) on a random 1% of the training data.
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
            with the CLIP model and writes μ, the population σ and how they were measured, where the trainer reads
            them. R = ½(1 + clip((c − μ)/σ, −1, 1)).
            The source `rollouts` scores the initial policy's partial outputs instead: one rollout for each of a random
            1% of the training prompts, its partial text and image at every step 1…T (use it when reference pairs score
            far above what the policy produces, which clips every reward to 0).
            With --config (a ParaRL run config), the CLIP model, vocabulary, seeds, initial policy and sampler come from
            the config and the result is written to the file its `calibration:` key names (or --out / --run).
            Without it, --run or --out is required; --model defaults to the shipped models/world-clip and --policy to
            the shipped models/world-policy.
            Examples:
              pararl calibrate --config rl-configs/pararl-s3.yaml --out runs/calibration/clip_calibration.json
              pararl calibrate --config rl-configs/pararl-s3.yaml --source rollouts --out runs/calibration/rollouts.json
              pararl calibrate --out FILE.json                      # the shipped CLIP on reference pairs
              pararl calibrate --out FILE.json --source rollouts    # … on the shipped policy's partial rollouts
              pararl calibrate --model runs/clip-tiny/model --run runs/pararl-s3 --source rollouts \
                  --policy runs/sft-tiny/checkpoints/step-00000400 --sampler-config rl-configs/sample-tiny.yaml
            """)

    @Option(help: "ParaRL run config (rl-configs/pararl-*.yaml): model, vocabulary, seeds, policy and sampler from it.")
    var config: String?
    @Option(help: "CLIP model folder (without --config; default: the shipped models/world-clip).") var model: String?
    @Option(name: .customLong("run"), help: "Run folder the calibration is written into (as <run>/clip_calibration.json).")
    var runFolder: String?
    @Option(help: "File the calibration is written to (instead of --run or the config's calibration: path).") var out: String?
    @Option(help: "Data source: references (default) or rollouts.") var source: RunCalibration.Source = .references
    @Option(help: "Seed of the world's task source (default: the config's world_seed, else 0).") var worldSeed: UInt64?
    @Option(help: "Training tasks the subset is drawn from.") var trainTasks: Int = CLIPCalibration.trainTasks
    @Option(help: "Share of the training data scored.") var fraction: Double = 0.01
    @Option(help: "Seed of the subset (default: the config's seed, else 0).") var seed: UInt64?
    @Option(help: "Policy checkpoint whose rollouts are scored (source rollouts, without --config; default: the shipped models/world-policy).")
    var policy: String?
    @Option(help: "Sampler YAML for source rollouts without --config (default: the sampler defaults).") var samplerConfig: String?
    @Flag(help: "Print the calibration as JSON.") var json = false
    @OptionGroup var vocabulary: CLIPVocabularyOptions
    @OptionGroup var compute: ComputeOptions

    /// The shipped models (models/README.md), relative to the repository root.
    static let shippedCLIP = "models/world-clip", shippedPolicy = "models/world-policy"

    func validate() throws {
        if trainTasks < 1 { throw ValidationError("--train-tasks must be at least 1, got \(trainTasks)") }
        if !(fraction > 0 && fraction <= 1) { throw ValidationError("--fraction must be in (0, 1], got \(fraction)") }
        if config != nil {
            if model != nil || policy != nil || samplerConfig != nil || worldSeed != nil || vocabulary.vocab != nil {
                throw ValidationError("with --config, the CLIP model, vocabulary, policy, sampler and world seed come from the config; "
                                      + "drop --model, --vocab, --policy, --sampler-config and --world-seed")
            }
            if runFolder != nil && out != nil { throw ValidationError("give at most one of --run and --out") }
            return
        }
        if (runFolder == nil) == (out == nil) { throw ValidationError("give exactly one of --run RUN and --out FILE") }
        if source == .references && (policy != nil || samplerConfig != nil) {
            throw ValidationError("--policy and --sampler-config only apply to --source rollouts")
        }
    }

    func run() throws {
        compute.apply()
        let calibration: CLIPCalibration
        let destination: URL
        if let config {
            let configURL = URL(fileURLWithPath: config)
            let settings = try ParaRLConfig.load(configURL)
            destination = try out.map { URL(fileURLWithPath: $0) }
                ?? runFolder.map { URL(fileURLWithPath: $0).appendingPathComponent(CLIPCalibration.fileName) }
                ?? RunCalibration.destination(config: settings, configURL: configURL)
            calibration = try RunCalibration.estimate(configURL: configURL, config: settings, source: source, fraction: fraction,
                                                      trainTasks: trainTasks, seed: seed)
        } else {
            let model = self.model ?? Self.shippedCLIP
            destination = out.map { URL(fileURLWithPath: $0) }
                ?? URL(fileURLWithPath: runFolder ?? ".").appendingPathComponent(CLIPCalibration.fileName)
            let scorer = CLIPScorer(model: try CLIPModel.load(directory: URL(fileURLWithPath: model)),
                                    tokenizer: try vocabulary.tokenizer())
            let rolloutPolicy = try source == .rollouts
                ? CLIPCalibration.RolloutPolicy(bundle: PolicyBundle.load(checkpoint: URL(fileURLWithPath: policy ?? Self.shippedPolicy)),
                                                sampler: samplerConfig.map { try SamplerConfig.load(URL(fileURLWithPath: $0)) } ?? SamplerConfig(),
                                                batch: 8)
                : nil
            calibration = try CLIPCalibration.estimate(source, scorer: scorer, worldSeed: worldSeed ?? 0, trainTasks: trainTasks,
                                                       count: CLIPCalibration.subsetSize(trainTasks: trainTasks, fraction: fraction),
                                                       fraction: source == .references ? fraction : nil, seed: seed ?? 0, model: model,
                                                       policy: rolloutPolicy)
        }
        try FileManager.default.createDirectory(at: destination.deletingLastPathComponent(), withIntermediateDirectories: true)
        try calibration.write(to: destination)
        if json { try printJSON(calibration) } else {
            print(String(format: "μ_CLIP %.4f  σ_CLIP %.4f  over %d scores (%@) → %@", calibration.mu, calibration.sigma,
                         calibration.count, source.rawValue, destination.path))
        }
    }
}

extension RunCalibration.Source: ExpressibleByArgument {}
