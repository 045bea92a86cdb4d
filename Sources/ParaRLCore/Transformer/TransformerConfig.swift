// Hyper-parameters of the LLaDA/MMaDA-style bidirectional transformer (DESIGN §3.2), spelled as LLaDA's config.json.
import Foundation

public struct TransformerConfig: Codable, Sendable, Equatable {
    /// Model width C.
    public var dModel: Int
    public var nLayers: Int
    public var nHeads: Int
    /// SwiGLU hidden width H (LLaDA `mlp_hidden_size`).
    public var mlpHiddenSize: Int
    /// Rows of the embedding and output head (LLaDA `embedding_size`, ≥ `vocab_size`).
    public var vocabSize: Int
    public var ropeTheta: Float
    public var rmsNormEps: Float

    enum CodingKeys: String, CodingKey {
        case dModel = "d_model", nLayers = "n_layers", nHeads = "n_heads", mlpHiddenSize = "mlp_hidden_size"
        case vocabSize = "vocab_size", ropeTheta = "rope_theta", rmsNormEps = "rms_norm_eps"
    }

    public init(dModel: Int, nLayers: Int, nHeads: Int, mlpHiddenSize: Int, vocabSize: Int,
                ropeTheta: Float = 10_000, rmsNormEps: Float = 1e-5) {
        self.dModel = dModel; self.nLayers = nLayers; self.nHeads = nHeads; self.mlpHiddenSize = mlpHiddenSize
        self.vocabSize = vocabSize; self.ropeTheta = ropeTheta; self.rmsNormEps = rmsNormEps
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
    }

    /// Parameter names (as MMaDA checkpoints spell them) and PyTorch `[out, in]` shapes, in a fixed order.
    public var parameterShapes: [(String, [Int])] {
        let c = dModel, h = mlpHiddenSize
        var shapes: [(String, [Int])] = [("model.transformer.wte.weight", [vocabSize, c])]
        for i in 0..<nLayers {
            let p = "model.transformer.blocks.\(i)."
            shapes += [
                (p + "attn_norm.weight", [c]), (p + "q_proj.weight", [c, c]), (p + "k_proj.weight", [c, c]),
                (p + "v_proj.weight", [c, c]), (p + "attn_out.weight", [c, c]), (p + "ff_norm.weight", [c]),
                (p + "ff_proj.weight", [h, c]), (p + "up_proj.weight", [h, c]), (p + "ff_out.weight", [c, h]),
            ]
        }
        shapes += [("model.transformer.ln_f.weight", [c]), ("model.transformer.ff_out.weight", [vocabSize, c])]
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
