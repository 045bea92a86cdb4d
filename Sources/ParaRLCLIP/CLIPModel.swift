// The CLIP model as Hugging Face `CLIPModel` (docs/design.md §3.9): a ViT vision tower and a causal text tower whose
// pooled outputs are projected, L2-normalised and compared by cosine times exp(logit_scale).
// Parameters and gradients live in one arena each, keyed by the HF checkpoint names.
// Legend: B batch, T text positions, S vision positions (patches + class), C tower width, H MLP width,
// NH heads, P projection dim, V vocabulary, K = channels·patch² (one flattened patch).
import Foundation
import ParaRLCore

/// The shape of one tower's encoder (`CLIPEncoder`): its key prefix, widths and attention mask.
struct CLIPTowerShape {
    let prefix: String
    let layers: Int, c: Int, h: Int, nh: Int
    let activation: CLIPActivation
    let eps: Float
    let causal: Bool
    var hd: Int { c / nh }
}

/// A CLIP model's parameters and gradients.
public final class CLIPModel: @unchecked Sendable {
    public let config: CLIPConfig
    public let params: Arena
    public let grads: Arena

    public init(config: CLIPConfig) throws {
        try config.validate()
        self.config = config
        let layout = ArenaLayout(CLIPModel.parameterShapes(config))
        params = Arena(layout)
        grads = Arena(layout)
        params["logit_scale"][0] = config.logitScaleInitValue
    }

    /// Every parameter by its HF `CLIPModel` key, in state-dict order.
    public static func parameterShapes(_ config: CLIPConfig) -> [(String, [Int])] {
        let t = config.textConfig, v = config.visionConfig, p = config.projectionDim
        var shapes: [(String, [Int])] = []
        func encoder(_ prefix: String, layers: Int, c: Int, h: Int) {
            for i in 0..<layers {
                let l = "\(prefix)encoder.layers.\(i)."
                for proj in ["k_proj", "v_proj", "q_proj", "out_proj"] {
                    shapes.append((l + "self_attn.\(proj).weight", [c, c]))
                    shapes.append((l + "self_attn.\(proj).bias", [c]))
                }
                shapes += [(l + "layer_norm1.weight", [c]), (l + "layer_norm1.bias", [c]),
                           (l + "mlp.fc1.weight", [h, c]), (l + "mlp.fc1.bias", [h]),
                           (l + "mlp.fc2.weight", [c, h]), (l + "mlp.fc2.bias", [c]),
                           (l + "layer_norm2.weight", [c]), (l + "layer_norm2.bias", [c])]
            }
        }
        shapes.append(("text_model.embeddings.token_embedding.weight", [t.vocabSize, t.hiddenSize]))
        shapes.append(("text_model.embeddings.position_embedding.weight", [t.maxPositionEmbeddings, t.hiddenSize]))
        encoder("text_model.", layers: t.numHiddenLayers, c: t.hiddenSize, h: t.intermediateSize)
        shapes.append(("text_model.final_layer_norm.weight", [t.hiddenSize]))
        shapes.append(("text_model.final_layer_norm.bias", [t.hiddenSize]))
        shapes.append(("vision_model.embeddings.class_embedding", [v.hiddenSize]))
        shapes.append(("vision_model.embeddings.patch_embedding.weight", [v.hiddenSize, v.numChannels, v.patchSize, v.patchSize]))
        shapes.append(("vision_model.embeddings.position_embedding.weight", [v.numPatches + 1, v.hiddenSize]))
        shapes.append(("vision_model.pre_layrnorm.weight", [v.hiddenSize]))
        shapes.append(("vision_model.pre_layrnorm.bias", [v.hiddenSize]))
        encoder("vision_model.", layers: v.numHiddenLayers, c: v.hiddenSize, h: v.intermediateSize)
        shapes.append(("vision_model.post_layernorm.weight", [v.hiddenSize]))
        shapes.append(("vision_model.post_layernorm.bias", [v.hiddenSize]))
        shapes.append(("visual_projection.weight", [p, v.hiddenSize]))
        shapes.append(("text_projection.weight", [p, t.hiddenSize]))
        shapes.append(("logit_scale", []))
        return shapes
    }

    var textTower: CLIPTowerShape {
        let t = config.textConfig
        return CLIPTowerShape(prefix: "text_model.", layers: t.numHiddenLayers, c: t.hiddenSize, h: t.intermediateSize,
                              nh: t.numAttentionHeads, activation: t.hiddenAct, eps: t.layerNormEps, causal: true)
    }
    var visionTower: CLIPTowerShape {
        let v = config.visionConfig
        return CLIPTowerShape(prefix: "vision_model.", layers: v.numHiddenLayers, c: v.hiddenSize, h: v.intermediateSize,
                              nh: v.numAttentionHeads, activation: v.hiddenAct, eps: v.layerNormEps, causal: false)
    }

    /// The learnable log inverse temperature; logits are `exp(logitScale) · cos`.
    public var logitScale: Float { params["logit_scale"][0] }

    /// Initialises the weights as HF `CLIPPreTrainedModel._init_weights` (factor 1): N(0, 0.02) embeddings,
    /// N(0, C^-0.5) class embedding and projections, attention and MLP weights scaled by depth, zero biases,
    /// unit layer norms, `logit_scale` = `logit_scale_init_value`.
    public func initialiseWeights(rng: inout RandomStream) {
        params.zero()
        let t = config.textConfig, v = config.visionConfig
        func normal(_ name: String, _ std: Float) {
            let p = params[name]
            for i in 0..<(params.layout.entry(name)?.count ?? 0) { p[i] = std * rng.normal() }
        }
        for e in params.layout.entries where e.name.contains("norm") && e.name.hasSuffix(".weight") {
            params[e.name].update(repeating: 1, count: e.count)
        }
        normal("text_model.embeddings.token_embedding.weight", 0.02)
        normal("text_model.embeddings.position_embedding.weight", 0.02)
        normal("vision_model.embeddings.class_embedding", 1 / Float(v.hiddenSize).squareRoot())
        normal("vision_model.embeddings.patch_embedding.weight", 0.02)
        normal("vision_model.embeddings.position_embedding.weight", 0.02)
        for (tower, layers, c) in [("text_model.", t.numHiddenLayers, t.hiddenSize), ("vision_model.", v.numHiddenLayers, v.hiddenSize)] {
            let inStd = 1 / Float(c).squareRoot() / Float(2 * max(layers, 1)).squareRoot()
            let outStd = 1 / Float(c).squareRoot()
            let fcStd = 1 / Float(2 * c).squareRoot()
            for i in 0..<layers {
                let l = "\(tower)encoder.layers.\(i)."
                for proj in ["q_proj", "k_proj", "v_proj"] { normal(l + "self_attn.\(proj).weight", inStd) }
                normal(l + "self_attn.out_proj.weight", outStd * inStd * Float(c).squareRoot())
                normal(l + "mlp.fc1.weight", fcStd)
                normal(l + "mlp.fc2.weight", inStd)
            }
        }
        normal("visual_projection.weight", 1 / Float(v.hiddenSize).squareRoot())
        normal("text_projection.weight", 1 / Float(t.hiddenSize).squareRoot())
        params["logit_scale"][0] = config.logitScaleInitValue
    }
}
