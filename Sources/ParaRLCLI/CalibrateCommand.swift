// `pararl calibrate`: estimates μ_CLIP and σ_CLIP of the reward (DESIGN §3.5) on a random 1% of the training data.
import ArgumentParser
import Foundation
import ParaRLCLIP
import ParaRLCore
import ParaRLWorld

struct CalibrateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "calibrate",
        abstract: "Estimate μ_CLIP and σ_CLIP on a random 1% of the training data for the reward normalisation.",
        discussion: """
            Scores reference pairs (each sampled training task's reasoning trace with its rendered target scene)
            with the CLIP model and writes μ, the population σ and how they were measured to
            <run>/clip_calibration.json, where the trainer reads them. R = ½(1 + clip((c − μ)/σ, −1, 1)).
            The source `rollouts` (the initial policy's partial rollouts) needs the policy sampler and is not
            available yet.
            Example:
              pararl calibrate --model runs/clip-tiny/model --run runs/pararl-s3
            """)

    enum Source: String, ExpressibleByArgument { case references, rollouts }

    @Option(help: "CLIP model folder.") var model: String
    @Option(name: .customLong("run"), help: "Run folder the calibration is written into.") var runFolder: String
    @Option(help: "Data source: references (default) or rollouts.") var source: Source = .references
    @Option(help: "Seed of the world's task source.") var worldSeed: UInt64 = 0
    @Option(help: "Training tasks the subset is drawn from.") var trainTasks: Int = 20_000
    @Option(help: "Share of the training data scored.") var fraction: Double = 0.01
    @Option(help: "Seed of the subset.") var seed: UInt64 = 0
    @Flag(help: "Print the calibration as JSON.") var json = false
    @OptionGroup var vocabulary: CLIPVocabularyOptions
    @OptionGroup var compute: ComputeOptions

    func validate() throws {
        if trainTasks < 1 { throw ValidationError("--train-tasks must be at least 1, got \(trainTasks)") }
        if !(fraction > 0 && fraction <= 1) { throw ValidationError("--fraction must be in (0, 1], got \(fraction)") }
        if source == .rollouts {
            throw ValidationError("--source rollouts needs the policy sampler, which is not available yet; use references")
        }
    }

    func run() throws {
        compute.apply()
        let scorer = CLIPScorer(model: try CLIPModel.load(directory: URL(fileURLWithPath: model)),
                                tokenizer: try vocabulary.tokenizer())
        var rng = RandomStream(seed: seed).split("calibrate")
        let pairs = CLIPCalibration.referencePairs(source: WorldTaskSource(seed: worldSeed), trainTasks: trainTasks,
                                                   fraction: fraction, rng: &rng)
        let scores = try scorer.scores(texts: pairs.texts, images: pairs.images)
        let (mu, sigma) = CLIPCalibration.statistics(scores)
        let calibration = CLIPCalibration(mu: mu, sigma: sigma, count: scores.count, source: source.rawValue,
                                          model: model, seed: seed, fraction: fraction)
        let runURL = URL(fileURLWithPath: runFolder)
        try FileManager.default.createDirectory(at: runURL, withIntermediateDirectories: true)
        try calibration.write(to: runURL.appendingPathComponent(CLIPCalibration.fileName))
        if json { try printJSON(calibration) } else {
            print(String(format: "μ_CLIP %.4f  σ_CLIP %.4f  over %d pairs → %@", mu, sigma, scores.count,
                         runURL.appendingPathComponent(CLIPCalibration.fileName).path))
        }
    }
}
