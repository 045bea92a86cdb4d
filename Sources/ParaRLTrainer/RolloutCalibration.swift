// μ_CLIP and σ_CLIP from the initial policy's partial rollouts (DESIGN §3.5's second calibration source): one rollout
// of each of a random subset of training prompts, its partial text and image scored at every step 1…T, μ and the
// population σ over all scores. Useful when reference pairs score far above what the SFT policy produces (then every
// reward clips to 0 and every advantage is 0).
import Foundation
import ParaRLCLIP
import ParaRLCore
import ParaRLSampling
import ParaRLWorld

public enum RolloutCalibration {
    /// Training tasks the subset is drawn from (as `pararl calibrate --train-tasks`).
    public static let trainTasks = 20_000

    public static func estimate(bundle: PolicyBundle, sampler config: SamplerConfig, scorer: CLIPScorer, prompts: Int,
                                batch: Int, seed: UInt64, worldSeed: UInt64, model: String,
                                trainTasks: Int = RolloutCalibration.trainTasks) throws -> CLIPCalibration {
        var rng = RandomStream(seed: seed).split("rollout-calibration")
        let world = WorldTaskSource(seed: worldSeed)
        let indices = rng.sample(min(prompts, trainTasks), of: trainTasks)
        let sampler = try bundle.sampler(config: config)
        let steps = Set(1...config.steps)
        var scores: [Float] = []
        for start in stride(from: 0, to: indices.count, by: max(1, batch)) {
            let chunk = Array(indices[start..<min(indices.count, start + max(1, batch))])
            let prompts = try chunk.map { try bundle.prompt(world.trainTask(index: $0)) }
            let rollouts = try sampler.sample(prompts: prompts, seeds: chunk.map { rng.split($0).key }, recordSteps: steps)
            var texts: [String] = [], images: [RGBImage] = []
            for partial in rollouts.flatMap(\.partials) {
                let (text, image) = try bundle.decode(partial)
                texts.append(text); images.append(image)
            }
            scores += try scorer.scores(texts: texts, images: images)
        }
        let (mu, sigma) = CLIPCalibration.statistics(scores)
        return CLIPCalibration(mu: mu, sigma: sigma, count: scores.count, source: "rollouts", model: model, seed: seed,
                               fraction: Double(indices.count) / Double(trainTasks))
    }
}
