// The typed config of `pararl clip train` (rl-configs/clip-tiny.yaml), read by `StrictYAML` like every config:
// defaults are plain values with a reason; unknown keys, wrong types and bad values are errors naming the file, the
// dotted key and the line.
import Foundation
import ParaRLRunKit

/// Sizes of the world CLIP.
public struct CLIPTrainModelConfig: Codable, Sendable, Equatable {
    /// World images are 32×32; 4×4 patches give 64 positions + the class token.
    public var imageSize = 32
    public var patchSize = 4
    public var visionWidth = 64
    public var visionLayers = 2
    public var visionHeads = 4
    public var textWidth = 64
    public var textLayers = 2
    public var textHeads = 4
    /// World reasoning traces are 36–93 BPE tokens (past OpenAI's 77), so 96 holds every one.
    public var contextLength = 96
    public var projectionDim = 64
    /// MLP width = mlp_ratio × width, as ViT.
    public var mlpRatio = 4
    public var hiddenAct = CLIPActivation.quickGELU

    enum CodingKeys: String, CodingKey, CaseIterable {
        case imageSize = "image_size", patchSize = "patch_size", visionWidth = "vision_width"
        case visionLayers = "vision_layers", visionHeads = "vision_heads", textWidth = "text_width"
        case textLayers = "text_layers", textHeads = "text_heads", contextLength = "context_length"
        case projectionDim = "projection_dim", mlpRatio = "mlp_ratio", hiddenAct = "hidden_act"
    }

    public init() {}

    /// The HF `CLIPConfig` of these sizes, with OpenAI's BPE vocabulary and special ids.
    public var clipConfig: CLIPConfig {
        var t = CLIPTextConfig()
        t.hiddenSize = textWidth; t.intermediateSize = mlpRatio * textWidth; t.numHiddenLayers = textLayers
        t.numAttentionHeads = textHeads; t.maxPositionEmbeddings = contextLength; t.hiddenAct = hiddenAct
        var v = CLIPVisionConfig()
        v.hiddenSize = visionWidth; v.intermediateSize = mlpRatio * visionWidth; v.numHiddenLayers = visionLayers
        v.numAttentionHeads = visionHeads; v.imageSize = imageSize; v.patchSize = patchSize; v.hiddenAct = hiddenAct
        return CLIPConfig(textConfig: t, visionConfig: v, projectionDim: projectionDim)
    }
}

/// `pararl clip train` settings.
public struct CLIPTrainConfig: Codable, Sendable, Equatable {
    /// Seed of initialisation and batch sampling.
    public var seed: UInt64 = 0
    /// Seed of the world's task source (the same as the policy's data, so the CLIP sees its scenes).
    public var worldSeed: UInt64 = 0
    /// Training tasks pairs are drawn from.
    public var trainTasks = 20_000
    public var steps = 3_000
    /// Anchor scenes per step; each brings `hard_negatives` negatives, so a step sees
    /// (1 + hard_negatives) × batch_size pairs.
    public var batchSize = 32
    /// One-attribute negatives per anchor (1–4), each changing a different attribute (colour, shape, count,
    /// position, in a random order per anchor). More negatives per anchor put more of InfoNCE's weight on the
    /// one-attribute differences the reward must see, at the same pair count with a smaller batch_size.
    public var hardNegatives = 1
    public var learningRate = 1e-3
    public var warmupSteps = 100
    /// AdamW decay on matrices only (not on biases, norms, embeddings or logit_scale), as open_clip.
    public var weightDecay = 0.1
    public var gradClip = 1.0
    /// logit_scale is clamped to ln 100 after each step, as OpenAI CLIP training.
    public var maxLogitScale: Float = 4.6052
    /// Shares of the text forms: caption, full reasoning, partial reasoning.
    public var captionShare = 0.3
    public var reasoningShare = 0.3
    /// Evaluation scenes (the evaluation split's target scenes, in id order).
    public var evalScenes = 300
    public var logEvery = 50
    /// Output folder: `model/` (HF layout), `report.json`, `config.resolved.json`.
    public var out = "runs/clip-tiny"
    public var model = CLIPTrainModelConfig()
    /// A CLIP folder to start from (fine-tuning; its own sizes replace the `model:` section); null: a new CLIP.
    public var initModel: String?
    /// JSONL of `pararl clip samples`: a policy's partial outputs with their exact world reward, for the agreement
    /// loss of `CLIPScoreRegression` (null: contrastive training only).
    public var policySamples: String?
    /// (task, t) groups of policy samples per step, beside the contrastive batch.
    public var policyGroups = 8
    /// w: the agreement loss's weight against the contrastive loss.
    public var policyWeight = 4.0
    /// λ: the weight of the within-group (centred) term, which carries the order of a prompt's rollouts.
    public var policyWithinWeight = 4.0
    /// The target cosine at world reward 0 and at 100 (linear between); clean matched pairs score ~0.9.
    public var targetCosLow = 0.1
    public var targetCosHigh = 0.9
    /// Groups per step of `CLIPErrorGroups` (texts and images with the policy's kinds of errors and their exact world
    /// reward) in the agreement loss, beside or instead of `policy_samples`; 0: none.
    public var errorGroups = 0
    /// Variants per error group (the rollouts of one prompt a group advantage compares).
    public var errorGroupSize = 4

    enum CodingKeys: String, CodingKey, CaseIterable {
        case seed, worldSeed = "world_seed", trainTasks = "train_tasks", steps, batchSize = "batch_size", hardNegatives = "hard_negatives"
        case learningRate = "learning_rate", warmupSteps = "warmup_steps", weightDecay = "weight_decay"
        case gradClip = "grad_clip", maxLogitScale = "max_logit_scale", captionShare = "caption_share"
        case reasoningShare = "reasoning_share", evalScenes = "eval_scenes", logEvery = "log_every", out, model
        case initModel = "init_model", policySamples = "policy_samples", policyGroups = "policy_groups"
        case policyWeight = "policy_weight", policyWithinWeight = "policy_within_weight"
        case targetCosLow = "target_cos_low", targetCosHigh = "target_cos_high"
        case errorGroups = "error_groups", errorGroupSize = "error_group_size"
    }

    public init() {}

    /// Every key, with the `model:` section's.
    public static let keys = YAMLKeys(CodingKeys.allCases.map(\.rawValue),
                                      sections: ["model": YAMLKeys(CLIPTrainModelConfig.CodingKeys.allCases.map(\.rawValue))])

    /// Reads a YAML config; unknown keys (at any level) are errors naming the key and the file.
    public static func load(url: URL) throws -> CLIPTrainConfig {
        try parse(yaml: try StrictYAML.read(url), path: url.path)
    }

    public static func parse(yaml text: String, path: String) throws -> CLIPTrainConfig {
        let config = try StrictYAML.decode(CLIPTrainConfig.self, from: text, defaults: CLIPTrainConfig(), keys: keys, source: path)
        try StrictYAML.withLines(text: text, source: path) { try config.validate(path: path) }
        return config
    }

    public func validate(path: String) throws {
        func check(_ ok: Bool, _ key: String, _ reason: String) throws {
            if !ok { throw ParaRLError.invalidConfig(file: path, key: key, reason: reason) }
        }
        try check(steps >= 0, "steps", "must be non-negative")
        try check(batchSize >= 1, "batch_size", "must be at least 1")
        try check(trainTasks >= 1, "train_tasks", "must be at least 1")
        try check((1...CLIPHardNegativeKind.allCases.count).contains(hardNegatives), "hard_negatives",
                  "must be between 1 and \(CLIPHardNegativeKind.allCases.count) (one per attribute)")
        try check(learningRate > 0 && learningRate.isFinite, "learning_rate", "must be positive")
        try check(warmupSteps >= 0, "warmup_steps", "must be non-negative")
        try check(weightDecay >= 0, "weight_decay", "must be non-negative")
        try check(gradClip > 0, "grad_clip", "must be positive")
        try check(captionShare >= 0, "caption_share", "must be non-negative")
        try check(reasoningShare >= 0, "reasoning_share", "must be non-negative")
        try check(captionShare + reasoningShare <= 1, "reasoning_share", "caption_share + reasoning_share must be at most 1")
        try check(evalScenes >= 1, "eval_scenes", "must be at least 1")
        try check(logEvery >= 1, "log_every", "must be at least 1")
        try check((1...4096).contains(policyGroups), "policy_groups", "must be in 1…4096, got \(policyGroups)")
        try check((0...4096).contains(errorGroups), "error_groups", "must be in 0…4096, got \(errorGroups)")
        try check((2...64).contains(errorGroupSize), "error_group_size", "must be in 2…64, got \(errorGroupSize)")
        try check(policyWeight >= 0 && policyWeight.isFinite, "policy_weight", "must be non-negative")
        try check(policyWithinWeight >= 0 && policyWithinWeight.isFinite, "policy_within_weight", "must be non-negative")
        try check((-1...1).contains(targetCosLow), "target_cos_low", "must be in [−1, 1]")
        try check((-1...1).contains(targetCosHigh) && targetCosHigh > targetCosLow, "target_cos_high",
                  "must be in [−1, 1] and above target_cos_low")
        let m = model
        for (value, key) in [(m.imageSize, "image_size"), (m.patchSize, "patch_size"), (m.visionWidth, "vision_width"),
                             (m.visionLayers, "vision_layers"), (m.visionHeads, "vision_heads"), (m.textWidth, "text_width"),
                             (m.textLayers, "text_layers"), (m.textHeads, "text_heads"), (m.contextLength, "context_length"),
                             (m.projectionDim, "projection_dim")] {
            try check((1...Limits.dimension).contains(value), "model." + key, "must be in 1…\(Limits.dimension), got \(value)")
        }
        try check((1...64).contains(m.mlpRatio), "model.mlp_ratio", "must be in 1…64, got \(m.mlpRatio)")
        try model.clipConfig.validate(path: path)
    }
}
