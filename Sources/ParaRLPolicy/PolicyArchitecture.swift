// The architecture file of a policy trained from scratch (rl-configs/model-*.yaml): every key has a default here
// with its reason; the files document each key again in a comment.
import Foundation
import ParaRLCore
import ParaRLRunKit

/// Architecture of a policy trained from scratch (the vocabulary comes from the tokenizers).
public struct PolicyArchitecture: Codable, Sendable, Equatable {
    /// d_model. Default 256: the tiny model of docs/design.md §7.
    public var dModel = 256
    public var nLayers = 6
    public var nHeads = 4
    /// SwiGLU hidden width; ≈ 8/3·d rounded to 64, as LLaMA/LLaDA.
    public var mlpHiddenSize = 704
    /// RoPE base; LLaDA uses 500000 for 4K contexts, 10000 suits our ≤ 512-token sequences.
    public var ropeTheta: Float = 10_000
    public var rmsNormEps: Float = 1e-5
    public var maxSequenceLength = 512
    /// Std of the normal init of matrices (LLaDA's 0.02); norm weights start at 1.
    public var initStd: Float = 0.02

    enum CodingKeys: String, CodingKey, CaseIterable {
        case dModel = "d_model", nLayers = "n_layers", nHeads = "n_heads", mlpHiddenSize = "mlp_hidden_size"
        case ropeTheta = "rope_theta", rmsNormEps = "rms_norm_eps", maxSequenceLength = "max_sequence_length"
        case initStd = "init_std"
    }
    public init() {}

    public static func load(_ url: URL) throws -> PolicyArchitecture {
        let a = try StrictYAML.load(PolicyArchitecture.self, url: url, defaults: PolicyArchitecture(),
                                    allowed: CodingKeys.allCases.map(\.rawValue))
        try a.validate(source: url.path)
        return a
    }

    /// Sizes in range and the weights' memory on this machine; finite positive floats.
    public func validate(source: String) throws {
        func check(_ ok: Bool, _ key: CodingKeys, _ reason: String) throws {
            if !ok { throw ParaRLError.invalidConfig(file: source, key: key.rawValue, reason: reason) }
        }
        for (value, key) in [(dModel, CodingKeys.dModel), (nLayers, .nLayers), (nHeads, .nHeads), (mlpHiddenSize, .mlpHiddenSize),
                             (maxSequenceLength, .maxSequenceLength)] {
            try check((1...Limits.dimension).contains(value), key, "must be in 1…\(Limits.dimension), got \(value)")
        }
        try check(dModel % nHeads == 0, .nHeads, "must divide d_model \(dModel)")
        try check(initStd.isFinite && initStd > 0, .initStd, "must be a positive number, got \(initStd)")
        try check(ropeTheta.isFinite && ropeTheta > 0, .ropeTheta, "must be a positive number, got \(ropeTheta)")
        try check(rmsNormEps.isFinite && rmsNormEps > 0, .rmsNormEps, "must be a positive number, got \(rmsNormEps)")
        let d = Double(dModel)
        try Limits.checkMemory(4 * Double(nLayers) * (4 * d * d + 3 * d * Double(mlpHiddenSize)), for: "the policy's weights",
                               file: source, key: CodingKeys.nLayers.rawValue)
    }

    /// The model config for a vocabulary (vocab_size = embedding_size = the unified vocabulary's size).
    public func modelConfig(vocabulary: UnifiedVocabulary) -> PolicyModelConfig {
        let t = TransformerConfig(dModel: dModel, nLayers: nLayers, nHeads: nHeads, mlpHiddenSize: mlpHiddenSize,
                                  vocabSize: vocabulary.size, ropeTheta: ropeTheta, rmsNormEps: rmsNormEps,
                                  maskTokenID: vocabulary.special.mask)
        return PolicyModelConfig(transformer: t, maxSequenceLength: maxSequenceLength, vocabulary: vocabulary)
    }
}

extension Policy {
    /// LLaDA's init: matrices ~ N(0, std²), norm weights 1, drawn in parameter order from `rng`.
    public func initialise(std: Float, rng: inout RandomStream) {
        for e in model.params.layout.entries {
            let p = model.params[e.name]
            if e.shape.count == 1 {
                p.update(repeating: 1, count: e.count)
            } else {
                for i in 0..<e.count { p[i] = std * rng.normal() }
            }
        }
    }
}
