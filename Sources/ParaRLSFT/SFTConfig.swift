// The YAML config of an SFT run (rl-configs/sft-*.yaml). Every key has a default here with its reason; the files
// document each key again in a comment.
import Foundation
import ParaRLCore
import ParaRLPolicy
import ParaRLRunKit

/// An SFT run (docs/design.md §3.3). Paper defaults where the paper gives one; otherwise a documented choice.
public struct SFTConfig: Codable, Sendable, Equatable {
    /// Root seed of every random stream (weights, masking, condition dropout, data order).
    public var seed: UInt64 = 0
    /// Model architecture file (relative paths are relative to this config file).
    public var model = "model-tiny.yaml"
    /// Start from this policy checkpoint folder instead of a random init (its vocabulary must match).
    public var initCheckpoint: String?
    /// `world` (tasks generated on the fly from `world_seed`) or a dataset JSONL file.
    public var data = "world"
    public var worldSeed: UInt64 = 0
    /// Held-out data for a JSONL `data` (default: the last `eval_samples` records of `data`, excluded from training).
    public var evalData: String?
    /// Patch-VQ image tokenizer file (`pararl tokenizer fit`).
    public var imageTokenizer = "vq.safetensors"
    /// `world` (the world grammar's vocabulary) or a vocabulary JSON file (`pararl tokenizer vocab`).
    public var textVocabulary = "world"
    /// Instruction tokens kept in the input (longer ones are cut and counted).
    public var instructionLength = 32
    /// L_text: output text positions (reasoning, <|eos|>, filler).
    public var textLength = 96
    /// Filler after the reasoning's <|eos|>: `eos` (LLaDA) or `pad`.
    public var textFiller = TextFiller.eos
    public var batchSize = 32
    public var steps = 1000
    /// Peak learning rate: the paper's 2e-5 (fine-tuning an 8B model).
    public var lr = 2e-5
    public var warmupSteps = 50
    /// Cosine decay floor as a fraction of lr (transformers' min_lr_rate).
    public var minLRRatio = 0.0
    /// AdamW (torch defaults: betas 0.9/0.999, eps 1e-8, weight decay 0.01).
    public var beta1 = 0.9
    public var beta2 = 0.999
    public var adamEps = 1e-8
    public var weightDecay = 0.01
    /// Apply weight decay also to norm weights (usual practice: no).
    public var decayNormWeights = false
    /// Global gradient-norm clip (docs/design.md §3.7's 1.0).
    public var gradClip = 1.0
    /// t ~ U(t_epsilon, 1]: LLaDA's eps 1e-3 keeps 1/t bounded.
    public var tEpsilon: Float = 1e-3
    /// Share of samples whose instruction is replaced by <|uncond|> (paper: 10%).
    public var textConditionDropout: Float = 0.1
    /// Share of samples whose input image is dropped (paper: 10%).
    public var imageConditionDropout: Float = 0.1
    /// Held-out loss/accuracy at step 0, every this many steps and at the end; 0 = only at the end.
    public var evalEvery = 100
    public var evalSamples = 64
    public var checkpointEvery = 200
    /// Completed checkpoints kept (oldest deleted first; at least 1).
    public var keepCheckpoints = 2
    /// A metrics row and a progress line every this many steps.
    public var logEvery = 10

    enum CodingKeys: String, CodingKey, CaseIterable {
        case seed, model, initCheckpoint = "init_checkpoint", data, worldSeed = "world_seed", evalData = "eval_data"
        case imageTokenizer = "image_tokenizer", textVocabulary = "text_vocabulary"
        case instructionLength = "instruction_length", textLength = "text_length", textFiller = "text_filler"
        case batchSize = "batch_size", steps, lr, warmupSteps = "warmup_steps", minLRRatio = "min_lr_ratio"
        case beta1, beta2, adamEps = "adam_eps", weightDecay = "weight_decay", decayNormWeights = "decay_norm_weights"
        case gradClip = "grad_clip", tEpsilon = "t_epsilon", textConditionDropout = "text_condition_dropout"
        case imageConditionDropout = "image_condition_dropout", evalEvery = "eval_every", evalSamples = "eval_samples"
        case checkpointEvery = "checkpoint_every", keepCheckpoints = "keep_checkpoints", logEvery = "log_every"
    }
    public init() {}

    public static func parse(_ text: String, source: String) throws -> SFTConfig {
        let c = try StrictYAML.decode(SFTConfig.self, from: text, defaults: SFTConfig(),
                                      allowed: CodingKeys.allCases.map(\.rawValue), source: source)
        try StrictYAML.withLines(text: text, source: source) { try c.validate(source: source) }
        return c
    }

    public static func load(_ url: URL) throws -> SFTConfig {
        let text = try StrictYAML.read(url)
        return try parse(text, source: url.path)
    }

    /// The optimiser keys of this config.
    public var optimizer: OptimizerSettings {
        OptimizerSettings(lr: lr, warmupSteps: warmupSteps, minLRRatio: minLRRatio, beta1: beta1, beta2: beta2, adamEps: adamEps,
                          weightDecay: weightDecay, decayNormWeights: decayNormWeights, gradClip: gradClip)
    }

    /// The sequence layout and tokenizers of this config, as checkpoints record them.
    public var layoutFile: SequenceLayoutFile {
        SequenceLayoutFile(instructionLength: instructionLength, textLength: textLength, textFiller: textFiller,
                           imageTokenizer: imageTokenizer, textVocabulary: textVocabulary)
    }

    public func validate(source: String) throws {
        func check(_ ok: Bool, _ key: CodingKeys, _ reason: String) throws {
            if !ok { throw ParaRLError.invalidConfig(file: source, key: key.rawValue, reason: reason) }
        }
        try check(batchSize >= 1 && batchSize <= Limits.batch, .batchSize, "must be in 1…\(Limits.batch)")
        try check(steps >= 1 && steps <= Limits.steps, .steps, "must be in 1…\(Limits.steps)")
        try check(lr > 0 && lr.isFinite, .lr, "must be positive")
        try check(warmupSteps >= 0 && warmupSteps <= Limits.steps, .warmupSteps, "must be in 0…\(Limits.steps)")
        try check((0...1).contains(minLRRatio), .minLRRatio, "must be in [0, 1]")
        try check(gradClip > 0, .gradClip, "must be positive")
        try check(tEpsilon > 0 && tEpsilon < 1, .tEpsilon, "must be in (0, 1)")
        try check((0...1).contains(textConditionDropout), .textConditionDropout, "must be in [0, 1]")
        try check((0...1).contains(imageConditionDropout), .imageConditionDropout, "must be in [0, 1]")
        try check(instructionLength >= 1 && instructionLength <= Limits.dimension, .instructionLength,
                  "must be in 1…\(Limits.dimension)")
        try check(textLength >= 2 && textLength <= Limits.dimension, .textLength, "must be in 2…\(Limits.dimension)")
        try check(evalSamples <= Limits.batch, .evalSamples, "must be at most \(Limits.batch)")
        try check(evalEvery >= 0, .evalEvery, "must be non-negative")
        try check(evalSamples >= 1, .evalSamples, "must be at least 1")
        try check(checkpointEvery >= 1, .checkpointEvery, "must be at least 1")
        try check(keepCheckpoints >= 1, .keepCheckpoints, "must be at least 1")
        try check(logEvery >= 1, .logEvery, "must be at least 1")
        if let (key, reason) = optimizer.problem { throw ParaRLError.invalidConfig(file: source, key: key, reason: reason) }
    }
}
