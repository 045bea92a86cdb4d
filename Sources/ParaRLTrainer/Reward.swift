// The ParaRL reward end to end (docs/design.md §3.5–3.6, Eq. 4 of MMaDA-Parallel), in one place: μ_CLIP and σ_CLIP estimated
// once before training on a random share of the training data — reference pairs (each sampled task's reasoning
// trace with its rendered target scene) or the initial policy's partial rollouts, one implementation with a source
// switch —, the reward R = ½(1 + clip((c − μ)/σ, −1, 1)), the sampled steps S ⊂ {1..T} of a group, and the per-step
// group advantages A_{i,t} = (R_{i,t} − mean_j R_{j,t}) / (std_j R_{j,t} + 1e-4) with the population std over G.
import Foundation
import ParaRLCLIP
import ParaRLCore
import ParaRLMedia
import ParaRLSampling
import ParaRLWorld

/// Where μ_CLIP and σ_CLIP are measured.
public enum CalibrationSource: String, CaseIterable, Sendable {
    /// Reference pairs: each sampled training task's reasoning trace with its rendered target scene.
    case references
    /// The initial policy's partial outputs: one rollout per sampled training prompt, scored at every step 1…T (use it
    /// when reference pairs score far above what the policy produces, which clips every reward to 0).
    case rollouts
}

/// μ_CLIP and σ_CLIP with how they were measured; stored with the run as `clip_calibration.json`.
public struct CLIPCalibration: Codable, Sendable, Equatable {
    public static let fileName = "clip_calibration.json"
    public var mu: Double
    /// Population standard deviation of the calibration scores.
    public var sigma: Double
    public var count: Int
    public var source: String
    public var model: String
    public var seed: UInt64
    public var fraction: Double

    public init(mu: Double, sigma: Double, count: Int, source: String, model: String, seed: UInt64, fraction: Double) {
        self.mu = mu; self.sigma = sigma; self.count = count; self.source = source
        self.model = model; self.seed = seed; self.fraction = fraction
    }

    /// μ and the population σ of `scores`.
    public static func statistics(_ scores: [Float]) -> (mu: Double, sigma: Double) {
        guard !scores.isEmpty else { return (0, 0) }
        let n = Double(scores.count)
        let mu = scores.reduce(0.0) { $0 + Double($1) } / n
        let variance = scores.reduce(0.0) { $0 + (Double($1) - mu) * (Double($1) - mu) } / n
        return (mu, variance.squareRoot())
    }

    public func write(to url: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        do { try encoder.encode(self).write(to: url, options: .atomic) } catch {
            throw TrainerError.io(path: url.path, reason: "cannot write: \(error.localizedDescription)")
        }
    }

    public static func read(from url: URL) throws -> CLIPCalibration {
        let calibration: CLIPCalibration
        do {
            let data = try BoundedFile.read(url, maxBytes: 1 << 20)
            calibration = try JSONDecoder().decode(CLIPCalibration.self, from: data)
        } catch let e as BoundedFileError {
            throw TrainerError.io(path: url.path, reason: e.reason)
        } catch {
            throw TrainerError.io(path: url.path, reason: "not a CLIP calibration: \(error)")
        }
        try calibration.validate(source: url.path)
        return calibration
    }

    /// μ finite and σ finite and positive: Eq. 4 divides by σ, so σ ≤ 0 would make every reward and advantage 0 or
    /// undefined.
    public func validate(source: String) throws {
        guard mu.isFinite else {
            throw TrainerError.invalidConfig(file: source, key: "mu", reason: "must be finite, got \(mu)")
        }
        guard sigma.isFinite && sigma > 0 else {
            throw TrainerError.invalidConfig(file: source, key: "sigma",
                                             reason: "must be finite and above 0 (Eq. 4 divides by σ), got \(sigma)")
        }
    }

    /// Tasks in a `fraction` of `trainTasks` (at least one): the calibration subset's size for either source.
    public static func subsetSize(trainTasks: Int, fraction: Double) -> Int {
        max(1, Int((Double(trainTasks) * fraction).rounded()))
    }


    /// Training tasks the calibration subset is drawn from by default (as `pararl calibrate --train-tasks`).
    public static let trainTasks = 20_000

    /// The policy whose partial rollouts the `rollouts` source scores, its sampler and how many prompts share a batch.
    public struct RolloutPolicy {
        public var bundle: PolicyBundle
        public var sampler: SamplerConfig
        public var batch: Int
        public init(bundle: PolicyBundle, sampler: SamplerConfig, batch: Int) {
            self.bundle = bundle; self.sampler = sampler; self.batch = batch
        }
    }

    /// μ/σ of `scorer` on `count` of the first `trainTasks` training tasks of the world `worldSeed`, drawn with `seed`.
    /// The share recorded is `fraction` when given, else the share of tasks scored. The `rollouts` source needs `policy`.
    public static func estimate(_ source: CalibrationSource, scorer: any PairScorer, worldSeed: UInt64, trainTasks: Int, count: Int,
                                fraction: Double? = nil, seed: UInt64, model: String,
                                policy: RolloutPolicy? = nil) throws -> CLIPCalibration {
        let world = WorldTaskSource(seed: worldSeed)
        var scores: [Float] = []
        switch source {
        case .references:
            var rng = RandomStream(seed: seed).split("calibrate")
            let pairs = referencePairs(source: world, trainTasks: trainTasks, count: count, rng: &rng)
            scores = try scorer.pairScores(texts: pairs.texts, images: pairs.images,
                                           complete: Array(repeating: true, count: pairs.texts.count))
        case .rollouts:
            guard let policy else { throw TrainerError.invalidInput("calibration on rollouts needs the initial policy") }
            var rng = RandomStream(seed: seed).split("rollout-calibration")
            let indices = rng.sample(min(count, trainTasks), of: trainTasks)
            let sampler = try policy.bundle.sampler(config: policy.sampler)
            let steps = Set(1...policy.sampler.steps), batch = max(1, policy.batch)
            for start in stride(from: 0, to: indices.count, by: batch) {
                let chunk = Array(indices[start..<min(indices.count, start + batch)])
                let prompts = try chunk.map { try policy.bundle.prompt(world.trainTask(index: $0)) }
                let rollouts = try sampler.sample(prompts: prompts, seeds: chunk.map { rng.split($0).key }, recordSteps: steps)
                var texts: [String] = [], images: [RGBImage] = [], complete: [Bool] = []
                for partial in rollouts.flatMap(\.partials) {
                    let (text, image) = try policy.bundle.decode(partial)
                    texts.append(text); images.append(image); complete.append(partial.step == policy.sampler.steps)
                }
                scores += try scorer.pairScores(texts: texts, images: images, complete: complete)
            }
        }
        let (mu, sigma) = statistics(scores)
        return CLIPCalibration(mu: mu, sigma: sigma, count: scores.count, source: source.rawValue, model: model, seed: seed,
                               fraction: fraction ?? Double(min(count, trainTasks)) / Double(trainTasks))
    }

    /// The reference pairs of a random `fraction` of the first `trainTasks` training tasks (at least one),
    /// drawn without replacement: each task's reasoning trace with its rendered target scene.
    public static func referencePairs(source: WorldTaskSource, trainTasks: Int, fraction: Double,
                                      rng: inout RandomStream) -> (texts: [String], images: [RGBImage]) {
        referencePairs(source: source, trainTasks: trainTasks, count: subsetSize(trainTasks: trainTasks, fraction: fraction), rng: &rng)
    }

    /// The reference pairs of `count` random tasks of the first `trainTasks`, drawn without replacement.
    public static func referencePairs(source: WorldTaskSource, trainTasks: Int, count: Int,
                                      rng: inout RandomStream) -> (texts: [String], images: [RGBImage]) {
        var indices = Array(0..<trainTasks)
        rng.shuffle(&indices)
        let renderer = SceneRenderer(imageSize: 32)
        let tasks = indices.prefix(count).sorted().map(source.trainTask(index:))
        return (tasks.map(\.reasoning), tasks.map { renderer.render($0.targetScene) })
    }
}

/// R = ½ (1 + clip((c − μ) / σ, −1, 1)) ∈ [0, 1] (Eq. 4).
public struct CLIPReward: Sendable, Equatable {
    public var mu: Double
    public var sigma: Double

    public init(mu: Double, sigma: Double) { self.mu = mu; self.sigma = sigma }
    public init(_ calibration: CLIPCalibration) { self.init(mu: calibration.mu, sigma: calibration.sigma) }

    /// The reward of a raw CLIP score c = 100 · cos. A zero σ makes every score above μ 1, below 0, at μ ½.
    public func reward(score c: Double) -> Double {
        let normalised = sigma > 0 ? (c - mu) / sigma : (c > mu ? 1 : c < mu ? -1 : 0)
        return 0.5 * (1 + min(max(normalised, -1), 1))
    }
}

extension CLIPReward {
    /// Rewards of raw CLIP scores `scores[i][k]` (Eq. 4).
    public func rewards(scores: [[Double]]) -> [[Double]] { scores.map { $0.map { reward(score: $0) } } }
}

public enum SampledSteps {
    /// S ⊂ {1..T}, |S| = s, uniform without replacement, ascending (one draw per group; the G rollouts share it).
    /// The output-level objective uses S = {T} instead (`outputLevel`).
    public static func draw(_ s: Int, of steps: Int, rng: inout RandomStream) -> [Int] {
        rng.sample(s, of: steps).map { $0 + 1 }
    }

    /// S = {T}: the reward on the final output only.
    public static func outputLevel(steps: Int) -> [Int] { [steps] }
}

/// The advantages of one group at its sampled steps.
public struct GroupAdvantages: Sendable, Equatable {
    /// A[i][k]: rollout i at the k-th sampled step.
    public var advantages: [[Double]]
    /// Sampled steps (indices into S) whose G rewards were all equal, so A = 0 there.
    public var zeroStdSteps: [Int]

    /// The std floor of docs/design.md §3.6.
    public static let stdEpsilon = 1e-4

    /// `rewards[i][k]` = R of rollout i at the k-th sampled step; every rollout has the same number of steps.
    /// Mean and population std (÷G) over the group per step; a step whose rewards are all exactly equal gets
    /// A = 0 (the formula gives 0 too, but the step is counted for `frac_zero_std`).
    public init(rewards: [[Double]]) {
        let g = rewards.count, s = rewards.first?.count ?? 0
        advantages = Array(repeating: Array(repeating: 0, count: s), count: g)
        zeroStdSteps = []
        guard g > 0 else { return }
        for k in 0..<s {
            let column = rewards.map { $0[k] }
            if column.allSatisfy({ $0 == column[0] }) {
                zeroStdSteps.append(k)
                continue
            }
            let mean = column.reduce(0, +) / Double(g)
            let variance = column.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(g)
            let denominator = variance.squareRoot() + Self.stdEpsilon
            for i in 0..<g { advantages[i][k] = (column[i] - mean) / denominator }
        }
    }
}
