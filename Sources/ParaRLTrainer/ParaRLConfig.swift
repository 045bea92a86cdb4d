// The YAML config of a ParaRL run (rl-configs/pararl-*.yaml, output-level.yaml). Every key has a default here
// with its reason; the paper's values where the paper gives one (ε 0.2, β 1e-4, s 3, clip 1.0), learning rate
// and step counts scaled to the tiny world. Unknown keys (also inside `sampler:`) are errors naming key and file.
import Foundation
import ParaRLPolicy
import ParaRLRunKit
import ParaRLSampling

/// `trajectory` (ParaRL) or `output` (the output-level baseline of the paper's Table 4).
public enum RLObjective: String, Codable, Sendable, CaseIterable {
    case trajectory
    case output
}

public struct ParaRLConfig: Codable, Sendable, Equatable {
    /// Root seed: every stream (S per group, sampler seeds, output-level masks) is derived from (seed, step, group,
    /// rollout), so results do not depend on the number of ranks and a run resumes from the step alone.
    public var seed: UInt64 = 0
    /// The policy to start from: an SFT checkpoint folder (config.json + model.safetensors).
    public var initCheckpoint = "../models/world-policy"
    /// The frozen KL reference; default (null): `init_checkpoint` (the SFT policy, as the paper).
    public var referenceCheckpoint: String?
    /// CLIP scorer folder (Hugging Face layout, `pararl clip train`).
    public var clipModel = "../models/world-clip"
    /// bpe_simple_vocab_16e6.txt.gz; null: PARARL_CLIP_VOCAB, else .cache/clip/ of the current folder.
    public var clipVocabulary: String?
    /// μ_CLIP/σ_CLIP: a file of `pararl calibrate` (reference pairs), or `rollouts`: estimated at the start from the
    /// initial policy's partial outputs at every step of `calibration_prompts` training prompts. Copied into the run.
    public var calibration = "../runs/calibrate-check/clip_calibration.json"
    public var calibrationPrompts = 16
    /// The reward's raw score c: `clip` (the paper's CLIP reward, `clip_model`) or `world` (the exact world reward: the
    /// scene similarity between what the partial text states and the scene parsed from the partial image, docs/design.md §3.5).
    public var reward = RewardSource.clip
    /// Log the other reward source beside the training one (weight 0): a `monitor_score` per snapshot and paired
    /// reward evaluation, and `monitor_mean` per step. With `reward: world` it needs `clip_model`.
    public var rewardMonitor = true
    /// What the CLIP reward reads of a partial text: `trace` (all of it, truncated to the CLIP context, as the paper)
    /// or `statement` (from the last "final scene" on, the part the judge reads; the whole text before one is written).
    public var clipText = CLIPTextReading.trace
    public var objective = RLObjective.trajectory
    /// s, sampled steps per group (paper: 3). The output level uses S = {T} whatever this says.
    public var sampledSteps = 3
    /// G, rollouts per prompt, sampled as one batch (docs/design.md §7's benchmark batch: 8).
    public var groupSize = 8
    /// Prompts (groups) per step: the global batch, split over ranks (a group never spans ranks).
    public var promptsPerStep = 4
    /// Training steps (rollout phase + num_iterations updates each). Paper: 10k on 8B; a tiny run shows a trend in ~100.
    public var steps = 100
    /// μ: optimiser updates per rollout batch, reusing the stored π_old (1 = on-policy, ρ = 1 in value).
    public var numIterations = 1
    /// Clip range ε (paper 0.2) and its upper side ε_high (null: ε).
    public var epsilon = 0.2
    public var epsilonHigh: Double?
    /// KL weight β (paper 1e-4), k3 estimator against the reference.
    public var beta = 1e-4
    public var aggregation = LossAggregation.paper
    /// Peak learning rate: the paper's 2e-5 is for an 8B model; the ~5M-parameter tiny policy moves at 1e-5…1e-4.
    public var lr = 2e-5
    public var warmupSteps = 5
    public var minLRRatio = 0.0
    /// AdamW as torch (betas 0.9/0.999, eps 1e-8), weight decay 0.0 as TRL's GRPO default (no decay towards 0 in RL).
    public var beta1 = 0.9
    public var beta2 = 0.999
    public var adamEps = 1e-8
    public var weightDecay = 0.0
    public var decayNormWeights = false
    /// Global gradient-norm clip (paper 1.0).
    public var gradClip = 1.0
    /// Sequences per forward/backward micro-batch of the update phase (memory vs speed; no effect on results
    /// beyond float summation order).
    public var updateBatchSize = 8
    /// `world`: training task (step·prompts + g) of the built-in world with seed `world_seed`.
    public var data = "world"
    public var worldSeed: UInt64 = 0
    /// Judge evaluation on `eval_tasks` tasks spread over the evaluation split, before training, every `eval_every`
    /// steps and at the end (0 = only before and at the end).
    public var evalEvery = 25
    public var evalTasks = 60
    /// The selection slice: this many training-distribution tasks the run never trains on (training tasks from
    /// `PolicyEvaluator.selectionTaskOffset` on, never an evaluation task), judged with the evaluation split at every
    /// evaluation and logged as scope `selection`; pick checkpoints on it, not on the evaluation split. 0 = none.
    public var selectTasks = 0
    public var checkpointEvery = 25
    public var keepCheckpoints = 2
    /// Store partial images (PNG) of every snapshot in the log (false: empty blobs, smaller databases).
    public var logPartialImages = true
    /// The rollout sampler (docs/design.md §3.4): T, block length, temperatures, guidance, decoding order …
    public var sampler = SamplerConfig()
    /// The paired reward evaluation (docs/design.md §3.7a): fixed held-out tasks and sampler seeds, scored at a grid of t.
    public var rewardEval = RewardEvalConfig()

    enum CodingKeys: String, CodingKey, CaseIterable {
        case seed, initCheckpoint = "init_checkpoint", referenceCheckpoint = "reference_checkpoint"
        case clipModel = "clip_model", clipVocabulary = "clip_vocabulary", calibration, calibrationPrompts = "calibration_prompts"
        case reward, rewardMonitor = "reward_monitor", clipText = "clip_text", objective
        case sampledSteps = "sampled_steps", groupSize = "group_size", promptsPerStep = "prompts_per_step", steps
        case numIterations = "num_iterations", epsilon, epsilonHigh = "epsilon_high", beta, aggregation, lr
        case warmupSteps = "warmup_steps", minLRRatio = "min_lr_ratio", beta1, beta2, adamEps = "adam_eps"
        case weightDecay = "weight_decay", decayNormWeights = "decay_norm_weights", gradClip = "grad_clip"
        case updateBatchSize = "update_batch_size", data, worldSeed = "world_seed", evalEvery = "eval_every"
        case evalTasks = "eval_tasks", selectTasks = "select_tasks", checkpointEvery = "checkpoint_every", keepCheckpoints = "keep_checkpoints"
        case logPartialImages = "log_partial_images", sampler, rewardEval = "reward_eval"
    }
    public init() {}

    /// s of the run: 1 for the output level.
    public var effectiveSampledSteps: Int { objective == .output ? 1 : sampledSteps }

    /// The keys of every level: the top-level keys and the `sampler:` section's.
    public static var keys: YAMLKeys {
        YAMLKeys(CodingKeys.allCases.map(\.rawValue), sections: [CodingKeys.sampler.rawValue: YAMLKeys(SamplerConfig.keyNames),
                                                                  CodingKeys.rewardEval.rawValue: YAMLKeys(RewardEvalConfig.keyNames)])
    }

    public static func parse(_ text: String, source: String) throws -> ParaRLConfig {
        let config: ParaRLConfig
        do {
            config = try StrictYAML.decode(ParaRLConfig.self, from: text, defaults: ParaRLConfig(), keys: keys, source: source)
            try config.sampler.validate(source: source)
        } catch let e as ParaRLError {
            throw TrainerError.from(e)
        }
        try config.validate(source: source, text: text)
        return config
    }

    /// `validate`, with the line of the offending key in `text` (the config file's contents) when it is there.
    public func validate(source: String, text: String) throws {
        do { try validate(source: source) } catch let TrainerError.invalidConfig(file, key, reason, nil) where file == source {
            throw TrainerError.invalidConfig(file: file, key: key, reason: reason, line: StrictYAML.line(of: key, in: text))
        }
    }

    public static func load(_ url: URL) throws -> ParaRLConfig {
        let text: String
        do { text = try StrictYAML.read(url) } catch let e as ParaRLError { throw TrainerError.from(e) }
        return try parse(text, source: url.path)
    }

    /// The resolved config as YAML (every key, defaults filled in).
    /// The calibration is estimated from the initial policy's rollouts rather than read from a file.
    public var calibratesOnRollouts: Bool { calibration == Self.rolloutCalibration }
    public static let rolloutCalibration = "rollouts"

    /// The optimiser keys of this config (the schedule counts updates: see `ParaRLTrainer`).
    public var optimizer: OptimizerSettings {
        OptimizerSettings(lr: lr, warmupSteps: warmupSteps, minLRRatio: minLRRatio, beta1: beta1, beta2: beta2, adamEps: adamEps,
                          weightDecay: weightDecay, decayNormWeights: decayNormWeights, gradClip: gradClip)
    }

    public func yaml() throws -> String { try StrictYAML.encode(self) }

    public func validate(source: String) throws {
        func check(_ ok: Bool, _ key: CodingKeys, _ reason: String) throws {
            if !ok { throw TrainerError.invalidConfig(file: source, key: key.rawValue, reason: reason) }
        }
        try check(calibrationPrompts >= 1, .calibrationPrompts, "must be at least 1")
        try check(sampledSteps >= 1, .sampledSteps, "must be at least 1")
        try check(sampledSteps <= sampler.steps, .sampledSteps, "must not exceed the sampler's steps (\(sampler.steps))")
        try check(groupSize >= 2, .groupSize, "must be at least 2 (advantages are relative to the group)")
        try check(promptsPerStep >= 1, .promptsPerStep, "must be at least 1")
        try check(steps >= 1 && steps <= Limits.steps, .steps, "must be in 1…\(Limits.steps)")
        try check(numIterations >= 1 && numIterations <= Limits.innerIterations, .numIterations,
                  "must be in 1…\(Limits.innerIterations)")
        try check(groupSize <= Limits.batch, .groupSize, "must be at most \(Limits.batch)")
        try check(promptsPerStep <= Limits.batch, .promptsPerStep, "must be at most \(Limits.batch)")
        try check(calibrationPrompts <= Limits.batch, .calibrationPrompts, "must be at most \(Limits.batch)")
        try check(updateBatchSize <= Limits.batch, .updateBatchSize, "must be at most \(Limits.batch)")
        try check(epsilon > 0 && epsilon < 1, .epsilon, "must be in (0, 1)")
        try check(epsilonHigh.map { $0 > 0 } ?? true, .epsilonHigh, "must be positive")
        try check(beta >= 0 && beta.isFinite, .beta, "must be non-negative")
        try check(lr > 0 && lr.isFinite, .lr, "must be positive")
        try check(warmupSteps >= 0 && warmupSteps <= Limits.steps, .warmupSteps, "must be in 0…\(Limits.steps)")
        try check((0...1).contains(minLRRatio), .minLRRatio, "must be in [0, 1]")
        try check(weightDecay >= 0, .weightDecay, "must be non-negative")
        try check(gradClip > 0, .gradClip, "must be positive")
        try check(updateBatchSize >= 1, .updateBatchSize, "must be at least 1")
        try check(data == "world", .data, "only the built-in world (\"world\") is supported as RL prompts")
        try check(evalEvery >= 0, .evalEvery, "must be non-negative")
        try check(evalTasks >= 0, .evalTasks, "must be non-negative (0 = no evaluation)")
        try check(evalTasks <= Limits.batch, .evalTasks, "must be at most \(Limits.batch)")
        try check((0...Limits.batch).contains(selectTasks), .selectTasks, "must be in 0…\(Limits.batch) (0 = no selection slice)")
        try check(checkpointEvery >= 1, .checkpointEvery, "must be at least 1")
        try check(keepCheckpoints >= 1, .keepCheckpoints, "must be at least 1")
        try rewardEval.validate(source: source, samplerSteps: sampler.steps)
        if let (key, reason) = optimizer.problem { throw TrainerError.invalidConfig(file: source, key: key, reason: reason) }
    }
}

extension TrainerError {
    static func from(_ e: ParaRLError) -> TrainerError {
        switch e {
        case let .invalidConfig(file, key, reason, line): return .invalidConfig(file: file, key: key, reason: reason, line: line)
        case let .unknownKey(file, key, line): return .invalidConfig(file: file, key: key, reason: "unknown key", line: line)
        case let .missingKey(file, key): return .invalidConfig(file: file, key: key, reason: "missing")
        case let .io(path, reason): return .io(path: path, reason: reason)
        default: return .invalidInput(e.description)
        }
    }
}
