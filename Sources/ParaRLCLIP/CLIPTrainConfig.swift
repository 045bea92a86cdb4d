// The typed config of `pararl clip train` (rl-configs/clip-tiny.yaml): defaults are plain values with a reason;
// unknown keys are errors naming the key and the file.
import Foundation
import Yams

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
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self), d = CLIPTrainModelConfig()
        imageSize = try c.decodeIfPresent(Int.self, forKey: .imageSize) ?? d.imageSize
        patchSize = try c.decodeIfPresent(Int.self, forKey: .patchSize) ?? d.patchSize
        visionWidth = try c.decodeIfPresent(Int.self, forKey: .visionWidth) ?? d.visionWidth
        visionLayers = try c.decodeIfPresent(Int.self, forKey: .visionLayers) ?? d.visionLayers
        visionHeads = try c.decodeIfPresent(Int.self, forKey: .visionHeads) ?? d.visionHeads
        textWidth = try c.decodeIfPresent(Int.self, forKey: .textWidth) ?? d.textWidth
        textLayers = try c.decodeIfPresent(Int.self, forKey: .textLayers) ?? d.textLayers
        textHeads = try c.decodeIfPresent(Int.self, forKey: .textHeads) ?? d.textHeads
        contextLength = try c.decodeIfPresent(Int.self, forKey: .contextLength) ?? d.contextLength
        projectionDim = try c.decodeIfPresent(Int.self, forKey: .projectionDim) ?? d.projectionDim
        mlpRatio = try c.decodeIfPresent(Int.self, forKey: .mlpRatio) ?? d.mlpRatio
        hiddenAct = try c.decodeIfPresent(CLIPActivation.self, forKey: .hiddenAct) ?? d.hiddenAct
    }

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

    enum CodingKeys: String, CodingKey, CaseIterable {
        case seed, worldSeed = "world_seed", trainTasks = "train_tasks", steps, batchSize = "batch_size", hardNegatives = "hard_negatives"
        case learningRate = "learning_rate", warmupSteps = "warmup_steps", weightDecay = "weight_decay"
        case gradClip = "grad_clip", maxLogitScale = "max_logit_scale", captionShare = "caption_share"
        case reasoningShare = "reasoning_share", evalScenes = "eval_scenes", logEvery = "log_every", out, model
    }

    public init() {}
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self), d = CLIPTrainConfig()
        seed = try c.decodeIfPresent(UInt64.self, forKey: .seed) ?? d.seed
        worldSeed = try c.decodeIfPresent(UInt64.self, forKey: .worldSeed) ?? d.worldSeed
        trainTasks = try c.decodeIfPresent(Int.self, forKey: .trainTasks) ?? d.trainTasks
        steps = try c.decodeIfPresent(Int.self, forKey: .steps) ?? d.steps
        batchSize = try c.decodeIfPresent(Int.self, forKey: .batchSize) ?? d.batchSize
        hardNegatives = try c.decodeIfPresent(Int.self, forKey: .hardNegatives) ?? d.hardNegatives
        learningRate = try c.decodeIfPresent(Double.self, forKey: .learningRate) ?? d.learningRate
        warmupSteps = try c.decodeIfPresent(Int.self, forKey: .warmupSteps) ?? d.warmupSteps
        weightDecay = try c.decodeIfPresent(Double.self, forKey: .weightDecay) ?? d.weightDecay
        gradClip = try c.decodeIfPresent(Double.self, forKey: .gradClip) ?? d.gradClip
        maxLogitScale = try c.decodeIfPresent(Float.self, forKey: .maxLogitScale) ?? d.maxLogitScale
        captionShare = try c.decodeIfPresent(Double.self, forKey: .captionShare) ?? d.captionShare
        reasoningShare = try c.decodeIfPresent(Double.self, forKey: .reasoningShare) ?? d.reasoningShare
        evalScenes = try c.decodeIfPresent(Int.self, forKey: .evalScenes) ?? d.evalScenes
        logEvery = try c.decodeIfPresent(Int.self, forKey: .logEvery) ?? d.logEvery
        out = try c.decodeIfPresent(String.self, forKey: .out) ?? d.out
        model = try c.decodeIfPresent(CLIPTrainModelConfig.self, forKey: .model) ?? d.model
    }

    /// Reads a YAML config; unknown keys (at any level) are errors naming the key and the file.
    public static func load(url: URL) throws -> CLIPTrainConfig {
        let path = url.path
        let text: String
        do { text = try String(contentsOf: url, encoding: .utf8) } catch {
            throw CLIPError.config(path: path, reason: "cannot read: \(error.localizedDescription)")
        }
        return try parse(yaml: text, path: path)
    }

    public static func parse(yaml text: String, path: String) throws -> CLIPTrainConfig {
        let node: Any?
        do { node = try Yams.load(yaml: text) } catch {
            throw CLIPError.config(path: path, reason: "not valid YAML: \(error)")
        }
        guard let top = (node ?? [String: Any]()) as? [String: Any] else {
            throw CLIPError.config(path: path, reason: "the top level must be a mapping")
        }
        try checkKeys(top, allowed: Set(CodingKeys.allCases.map(\.rawValue)), prefix: "", path: path)
        if let model = top["model"] {
            guard let m = model as? [String: Any] else { throw CLIPError.config(path: path, reason: "model must be a mapping") }
            try checkKeys(m, allowed: Set(CLIPTrainModelConfig.CodingKeys.allCases.map(\.rawValue)), prefix: "model.", path: path)
        }
        let config: CLIPTrainConfig
        do { config = try YAMLDecoder().decode(CLIPTrainConfig.self, from: text.isEmpty ? "{}" : text) } catch {
            throw CLIPError.config(path: path, reason: "\(error)")
        }
        try config.validate(path: path)
        return config
    }

    static func checkKeys(_ map: [String: Any], allowed: Set<String>, prefix: String, path: String) throws {
        if let key = map.keys.sorted().first(where: { !allowed.contains($0) }) {
            throw CLIPError.unknownConfigKey(path: path, key: prefix + key)
        }
    }

    public func validate(path: String) throws {
        func check(_ ok: Bool, _ reason: String) throws { if !ok { throw CLIPError.config(path: path, reason: reason) } }
        try check(steps >= 0 && batchSize >= 1 && trainTasks >= 1, "steps ≥ 0, batch_size ≥ 1 and train_tasks ≥ 1")
        try check((1...CLIPHardNegativeKind.allCases.count).contains(hardNegatives),
                  "hard_negatives must be between 1 and \(CLIPHardNegativeKind.allCases.count) (one per attribute)")
        try check(learningRate > 0 && warmupSteps >= 0 && weightDecay >= 0 && gradClip > 0, "invalid optimiser settings")
        try check(captionShare >= 0 && reasoningShare >= 0 && captionShare + reasoningShare <= 1,
                  "caption_share and reasoning_share must be ≥ 0 with a sum ≤ 1")
        try check(evalScenes >= 1 && logEvery >= 1, "eval_scenes and log_every must be at least 1")
        try model.clipConfig.validate(path: path)
    }
}
