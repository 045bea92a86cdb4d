// Hyper-parameters of the LLaDA/MMaDA-style bidirectional transformer (docs/design.md §3.2), spelled as LLaDA's config.json.
import Foundation

public struct TransformerConfig: Codable, Sendable, Equatable {
    /// Model width C.
    public var dModel: Int
    public var nLayers: Int
    public var nHeads: Int
    /// SwiGLU hidden width H (LLaDA `mlp_hidden_size`).
    public var mlpHiddenSize: Int
    /// Ids in use (LLaDA `vocab_size`): every token id is below it.
    public var vocabSize: Int
    /// Rows of the embedding and output head (LLaDA `embedding_size`, ≥ `vocab_size`; the extra rows are
    /// padding that no token uses). Defaults to `vocab_size`.
    public var embeddingSize: Int
    /// Key/value heads (LLaDA `n_kv_heads`); only `n_kv_heads == n_heads` (no grouped-query attention) is supported.
    public var nKVHeads: Int
    /// The `[MASK]` id (LLaDA `mask_token_id`), if the checkpoint names one.
    public var maskTokenID: Int?
    public var ropeTheta: Float
    public var rmsNormEps: Float

    enum CodingKeys: String, CodingKey {
        case dModel = "d_model", nLayers = "n_layers", nHeads = "n_heads", mlpHiddenSize = "mlp_hidden_size"
        case vocabSize = "vocab_size", embeddingSize = "embedding_size", nKVHeads = "n_kv_heads"
        case maskTokenID = "mask_token_id", ropeTheta = "rope_theta", rmsNormEps = "rms_norm_eps"
    }

    public init(dModel: Int, nLayers: Int, nHeads: Int, mlpHiddenSize: Int, vocabSize: Int,
                ropeTheta: Float = 10_000, rmsNormEps: Float = 1e-5, embeddingSize: Int? = nil,
                nKVHeads: Int? = nil, maskTokenID: Int? = nil) {
        self.dModel = dModel; self.nLayers = nLayers; self.nHeads = nHeads; self.mlpHiddenSize = mlpHiddenSize
        self.vocabSize = vocabSize; self.ropeTheta = ropeTheta; self.rmsNormEps = rmsNormEps
        self.embeddingSize = embeddingSize ?? vocabSize
        self.nKVHeads = nKVHeads ?? nHeads
        self.maskTokenID = maskTokenID
    }

    /// Decodes LLaDA's fields; `embedding_size`, `n_kv_heads` (default `n_heads`), `mask_token_id`,
    /// `rope_theta` (10000) and `rms_norm_eps` (1e-5) may be absent.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let nHeads = try c.decode(Int.self, forKey: .nHeads)
        self.init(dModel: try c.decode(Int.self, forKey: .dModel), nLayers: try c.decode(Int.self, forKey: .nLayers),
                  nHeads: nHeads, mlpHiddenSize: try c.decode(Int.self, forKey: .mlpHiddenSize),
                  vocabSize: try c.decode(Int.self, forKey: .vocabSize),
                  ropeTheta: try c.decodeIfPresent(Float.self, forKey: .ropeTheta) ?? 10_000,
                  rmsNormEps: try c.decodeIfPresent(Float.self, forKey: .rmsNormEps) ?? 1e-5,
                  embeddingSize: try c.decodeIfPresent(Int.self, forKey: .embeddingSize),
                  nKVHeads: try c.decodeIfPresent(Int.self, forKey: .nKVHeads),
                  maskTokenID: try c.decodeIfPresent(Int.self, forKey: .maskTokenID))
    }

    public var headDim: Int { dModel / nHeads }

    /// Checks the sizes that the kernels rely on.
    public func validate() throws {
        func fail(_ m: String) -> TransformerError { .invalidConfig(m) }
        guard dModel > 0, nLayers > 0, nHeads > 0, mlpHiddenSize > 0, vocabSize > 0 else {
            throw fail("d_model, n_layers, n_heads, mlp_hidden_size and vocab_size must be positive")
        }
        guard dModel % nHeads == 0 else { throw fail("d_model \(dModel) is not divisible by n_heads \(nHeads)") }
        guard headDim % 2 == 0 else { throw fail("head dimension \(headDim) must be even for rotary embeddings") }
        guard ropeTheta > 0, rmsNormEps > 0 else { throw fail("rope_theta and rms_norm_eps must be positive") }
        guard nKVHeads == nHeads else {
            throw fail("n_kv_heads \(nKVHeads) differs from n_heads \(nHeads): grouped-query attention is not supported")
        }
        guard embeddingSize >= vocabSize else {
            throw fail("embedding_size \(embeddingSize) is smaller than vocab_size \(vocabSize)")
        }
        if let m = maskTokenID, !(0..<vocabSize).contains(m) {
            throw fail("mask_token_id \(m) is outside 0..<vocab_size (\(vocabSize))")
        }
    }

    /// Parameter names (as MMaDA checkpoints spell them) and PyTorch `[out, in]` shapes, in a fixed order.
    public var parameterShapes: [(String, [Int])] {
        let c = dModel, h = mlpHiddenSize
        var shapes: [(String, [Int])] = [("model.transformer.wte.weight", [embeddingSize, c])]
        for i in 0..<nLayers {
            let p = "model.transformer.blocks.\(i)."
            shapes += [
                (p + "attn_norm.weight", [c]), (p + "q_proj.weight", [c, c]), (p + "k_proj.weight", [c, c]),
                (p + "v_proj.weight", [c, c]), (p + "attn_out.weight", [c, c]), (p + "ff_norm.weight", [c]),
                (p + "ff_proj.weight", [h, c]), (p + "up_proj.weight", [h, c]), (p + "ff_out.weight", [c, h]),
            ]
        }
        shapes += [("model.transformer.ln_f.weight", [c]), ("model.transformer.ff_out.weight", [embeddingSize, c])]
        return shapes
    }

    public var parameterCount: Int { parameterShapes.reduce(0) { $0 + $1.1.reduce(1, *) } }

    /// Multiply–add FLOPs of one forward pass over `tokens` tokens in sequences of length `t`,
    /// with the output head evaluated at `headRows` positions over `headColumns` ids.
    public func forwardFLOPs(tokens: Int, t: Int, headRows: Int, headColumns: Int) -> Double {
        let c = Double(dModel), h = Double(mlpHiddenSize), n = Double(tokens)
        let perLayer = 2 * n * (4 * c * c + 3 * c * h) + 2 * 2 * n * Double(t) * c
        return Double(nLayers) * perLayer + 2 * Double(headRows) * Double(headColumns) * c
    }
}

public enum TransformerError: Error, CustomStringConvertible, Equatable {
    case invalidConfig(String)
    case invalidInput(String)
    public var description: String {
        switch self {
        case .invalidConfig(let m): return "invalid transformer config: \(m)"
        case .invalidInput(let m): return "invalid transformer input: \(m)"
        }
    }
}
