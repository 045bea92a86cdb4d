// The CLIP configuration as Hugging Face `CLIPConfig` / `CLIPTextConfig` / `CLIPVisionConfig` (config.json),
// with HF's defaults for absent fields; the many other keys HF writes into config.json are ignored.
import Foundation
import ParaRLRunKit

/// Activation of the encoder MLPs (`hidden_act`).
public enum CLIPActivation: String, Codable, Sendable {
    case quickGELU = "quick_gelu"
    case gelu
}

/// The text tower (`text_config`).
public struct CLIPTextConfig: Codable, Sendable, Equatable {
    public var vocabSize = 49408
    public var hiddenSize = 512
    public var intermediateSize = 2048
    public var numHiddenLayers = 12
    public var numAttentionHeads = 8
    /// The context length: 77 for OpenAI CLIP.
    public var maxPositionEmbeddings = 77
    public var hiddenAct = CLIPActivation.quickGELU
    public var layerNormEps: Float = 1e-5
    public var bosTokenId = 49406
    /// Pooling token: the first position holding it, or (HF's legacy value 2) the argmax of the ids.
    public var eosTokenId = 49407
    public var padTokenId = 1

    enum CodingKeys: String, CodingKey {
        case vocabSize = "vocab_size", hiddenSize = "hidden_size", intermediateSize = "intermediate_size"
        case numHiddenLayers = "num_hidden_layers", numAttentionHeads = "num_attention_heads"
        case maxPositionEmbeddings = "max_position_embeddings", hiddenAct = "hidden_act"
        case layerNormEps = "layer_norm_eps", bosTokenId = "bos_token_id", eosTokenId = "eos_token_id"
        case padTokenId = "pad_token_id"
    }

    public init() {}
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = CLIPTextConfig()
        vocabSize = try c.decodeIfPresent(Int.self, forKey: .vocabSize) ?? d.vocabSize
        hiddenSize = try c.decodeIfPresent(Int.self, forKey: .hiddenSize) ?? d.hiddenSize
        intermediateSize = try c.decodeIfPresent(Int.self, forKey: .intermediateSize) ?? d.intermediateSize
        numHiddenLayers = try c.decodeIfPresent(Int.self, forKey: .numHiddenLayers) ?? d.numHiddenLayers
        numAttentionHeads = try c.decodeIfPresent(Int.self, forKey: .numAttentionHeads) ?? d.numAttentionHeads
        maxPositionEmbeddings = try c.decodeIfPresent(Int.self, forKey: .maxPositionEmbeddings) ?? d.maxPositionEmbeddings
        hiddenAct = try c.decodeIfPresent(CLIPActivation.self, forKey: .hiddenAct) ?? d.hiddenAct
        layerNormEps = try c.decodeIfPresent(Float.self, forKey: .layerNormEps) ?? d.layerNormEps
        bosTokenId = try c.decodeIfPresent(Int.self, forKey: .bosTokenId) ?? d.bosTokenId
        eosTokenId = try c.decodeIfPresent(Int.self, forKey: .eosTokenId) ?? d.eosTokenId
        padTokenId = try c.decodeIfPresent(Int.self, forKey: .padTokenId) ?? d.padTokenId
    }
}

/// The vision tower (`vision_config`).
public struct CLIPVisionConfig: Codable, Sendable, Equatable {
    public var hiddenSize = 768
    public var intermediateSize = 3072
    public var numHiddenLayers = 12
    public var numAttentionHeads = 12
    public var numChannels = 3
    public var imageSize = 224
    public var patchSize = 32
    public var hiddenAct = CLIPActivation.quickGELU
    public var layerNormEps: Float = 1e-5

    enum CodingKeys: String, CodingKey {
        case hiddenSize = "hidden_size", intermediateSize = "intermediate_size"
        case numHiddenLayers = "num_hidden_layers", numAttentionHeads = "num_attention_heads"
        case numChannels = "num_channels", imageSize = "image_size", patchSize = "patch_size"
        case hiddenAct = "hidden_act", layerNormEps = "layer_norm_eps"
    }

    public init() {}
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = CLIPVisionConfig()
        hiddenSize = try c.decodeIfPresent(Int.self, forKey: .hiddenSize) ?? d.hiddenSize
        intermediateSize = try c.decodeIfPresent(Int.self, forKey: .intermediateSize) ?? d.intermediateSize
        numHiddenLayers = try c.decodeIfPresent(Int.self, forKey: .numHiddenLayers) ?? d.numHiddenLayers
        numAttentionHeads = try c.decodeIfPresent(Int.self, forKey: .numAttentionHeads) ?? d.numAttentionHeads
        numChannels = try c.decodeIfPresent(Int.self, forKey: .numChannels) ?? d.numChannels
        imageSize = try c.decodeIfPresent(Int.self, forKey: .imageSize) ?? d.imageSize
        patchSize = try c.decodeIfPresent(Int.self, forKey: .patchSize) ?? d.patchSize
        hiddenAct = try c.decodeIfPresent(CLIPActivation.self, forKey: .hiddenAct) ?? d.hiddenAct
        layerNormEps = try c.decodeIfPresent(Float.self, forKey: .layerNormEps) ?? d.layerNormEps
    }

    /// Patches per side and in total.
    public var gridSize: Int { imageSize / patchSize }
    public var numPatches: Int { gridSize * gridSize }
}

/// The whole model (`config.json` of a `CLIPModel` folder).
public struct CLIPConfig: Codable, Sendable, Equatable {
    public var textConfig = CLIPTextConfig()
    public var visionConfig = CLIPVisionConfig()
    public var projectionDim = 512
    /// Initial value of the learnable `logit_scale` (log of the temperature's inverse): log(1/0.07).
    public var logitScaleInitValue: Float = 2.6592

    enum CodingKeys: String, CodingKey {
        case textConfig = "text_config", visionConfig = "vision_config", projectionDim = "projection_dim"
        case logitScaleInitValue = "logit_scale_init_value", modelType = "model_type"
        case architectures
    }

    public init(textConfig: CLIPTextConfig = CLIPTextConfig(), visionConfig: CLIPVisionConfig = CLIPVisionConfig(),
                projectionDim: Int = 512, logitScaleInitValue: Float = 2.6592) {
        self.textConfig = textConfig
        self.visionConfig = visionConfig
        self.projectionDim = projectionDim
        self.logitScaleInitValue = logitScaleInitValue
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        textConfig = try c.decodeIfPresent(CLIPTextConfig.self, forKey: .textConfig) ?? CLIPTextConfig()
        visionConfig = try c.decodeIfPresent(CLIPVisionConfig.self, forKey: .visionConfig) ?? CLIPVisionConfig()
        projectionDim = try c.decodeIfPresent(Int.self, forKey: .projectionDim) ?? 512
        logitScaleInitValue = try c.decodeIfPresent(Float.self, forKey: .logitScaleInitValue) ?? 2.6592
    }

    /// Writes what transformers needs to rebuild the model (`CLIPModel.from_pretrained`).
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(textConfig, forKey: .textConfig)
        try c.encode(visionConfig, forKey: .visionConfig)
        try c.encode(projectionDim, forKey: .projectionDim)
        try c.encode(logitScaleInitValue, forKey: .logitScaleInitValue)
        try c.encode("clip", forKey: .modelType)
        try c.encode(["CLIPModel"], forKey: .architectures)
    }

    /// Reads `config.json`.
    public static func load(url: URL) throws -> CLIPConfig {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw CLIPError.config(path: url.path, reason: "cannot read: \(error.localizedDescription)")
        }
        let config: CLIPConfig
        do { config = try JSONDecoder().decode(CLIPConfig.self, from: data) } catch {
            throw CLIPError.config(path: url.path, reason: "not a CLIP config: \(error)")
        }
        try config.validate(path: url.path)
        return config
    }

    /// Checks the sizes fit together (heads divide widths, patches tile the image).
    public func validate(path: String = "(config)") throws {
        let t = textConfig, v = visionConfig
        func check(_ ok: Bool, _ reason: String) throws { if !ok { throw CLIPError.config(path: path, reason: reason) } }
        try check(t.vocabSize > 0 && t.hiddenSize > 0 && t.intermediateSize > 0 && t.numHiddenLayers >= 0
                  && t.maxPositionEmbeddings > 0, "text_config sizes must be positive")
        try check(t.numAttentionHeads > 0 && t.hiddenSize % t.numAttentionHeads == 0,
                  "text_config.hidden_size \(t.hiddenSize) is not divisible by num_attention_heads \(t.numAttentionHeads)")
        try check(v.hiddenSize > 0 && v.intermediateSize > 0 && v.numHiddenLayers >= 0 && v.numChannels > 0,
                  "vision_config sizes must be positive")
        try check(v.numAttentionHeads > 0 && v.hiddenSize % v.numAttentionHeads == 0,
                  "vision_config.hidden_size \(v.hiddenSize) is not divisible by num_attention_heads \(v.numAttentionHeads)")
        try check(v.patchSize > 0 && v.imageSize >= v.patchSize,
                  "vision_config.image_size \(v.imageSize) must be at least patch_size \(v.patchSize)")
        try check(projectionDim > 0, "projection_dim must be positive")
        // Bounded before anything is sized from them, then the weights' memory against the machine's.
        let sizes = [t.vocabSize, t.hiddenSize, t.intermediateSize, t.numHiddenLayers, t.maxPositionEmbeddings, v.hiddenSize,
                     v.intermediateSize, v.numHiddenLayers, v.imageSize, v.patchSize, v.numChannels, projectionDim]
        try check(sizes.allSatisfy { $0 <= Limits.dimension }, "every size must be at most \(Limits.dimension)")
        let text = Double(t.vocabSize + t.maxPositionEmbeddings) * Double(t.hiddenSize)
            + Double(t.numHiddenLayers) * Double(t.hiddenSize) * Double(4 * t.hiddenSize + 2 * t.intermediateSize)
        let patches = Double(v.imageSize / v.patchSize) * Double(v.imageSize / v.patchSize) + 1
        let vision = Double(v.patchSize * v.patchSize * v.numChannels) * Double(v.hiddenSize) + patches * Double(v.hiddenSize)
            + Double(v.numHiddenLayers) * Double(v.hiddenSize) * Double(4 * v.hiddenSize + 2 * v.intermediateSize)
        let bytes = 4 * (text + vision + Double(projectionDim) * Double(t.hiddenSize + v.hiddenSize))
        do { try Limits.checkMemory(bytes, for: "the CLIP weights", file: path, key: "(model)") } catch let e as ParaRLError {
            throw CLIPError.config(path: path, reason: e.description)
        }
    }
}
