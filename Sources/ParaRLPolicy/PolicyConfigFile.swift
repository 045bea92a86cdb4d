// config.json of a policy checkpoint folder, as LLaDA/MMaDA save it (docs/design.md §3.2): LLaDA's fields, read
// strictly (architecture-changing fields must have the values this model implements, unknown keys are
// errors), plus our vocabulary under the key "pararl" (absent in a plain LLaDA/MMaDA config).
import Foundation
import ParaRLCore
import ParaRLRunKit

/// The model description stored as config.json beside the weights.
public struct PolicyModelConfig: Sendable, Equatable {
    public var transformer: TransformerConfig
    /// Longest sequence the rotary table covers (LLaDA `max_sequence_length`).
    public var maxSequenceLength: Int
    /// Our vocabulary layout; nil for a plain LLaDA/MMaDA checkpoint (logits only over the whole vocabulary).
    public var vocabulary: UnifiedVocabulary?

    public init(transformer: TransformerConfig, maxSequenceLength: Int, vocabulary: UnifiedVocabulary?) {
        self.transformer = transformer
        self.maxSequenceLength = maxSequenceLength
        self.vocabulary = vocabulary
    }

    public static let fileName = "config.json"

    /// LLaDA fields that must hold these values, because the kernels implement exactly this architecture.
    static let fixedFields: [String: Any] = [
        "activation_type": "silu", "block_type": "llama", "layer_norm_type": "rms", "rope": true, "alibi": false,
        "include_bias": false, "include_qkv_bias": false, "weight_tying": false, "attention_layer_norm": false,
        "input_emb_norm": false, "scale_logits": false, "bias_for_layer_norm": false, "layer_norm_with_affine": true,
        "block_group_size": 1, "tie_word_embeddings": false,
    ]
    /// LLaDA/MMaDA/transformers fields that do not change the computation here; read and ignored.
    static let ignoredFields: Set<String> = [
        "architectures", "auto_map", "model_type", "transformers_version", "torch_dtype", "dtype", "precision", "use_cache",
        "init_device", "init_fn", "init_std", "init_cutoff_factor", "attention_dropout", "residual_dropout",
        "embedding_dropout", "flash_attention", "alibi_bias_max", "mlp_ratio", "rope_full_precision",
        "attention_layer_norm_with_affine", "clip_qkv", "eos_token_id", "pad_token_id", "bos_token_id",
        "multi_query_attention", "_name_or_path", "llm_vocab_size", "codebook_size", "num_vq_tokens",
        "num_new_special_tokens", "new_vocab_size", "w_clip_vit", "pretrained_model_path",
    ]
    /// The ignored fields our own config.json writes.
    static let ownMetadata: Set<String> = ["architectures", "model_type", "eos_token_id", "pad_token_id"]
    static let modelFields: Set<String> = [
        "d_model", "n_layers", "n_heads", "n_kv_heads", "mlp_hidden_size", "rope_theta", "rms_norm_eps",
        "vocab_size", "embedding_size", "mask_token_id", "max_sequence_length", "pararl",
    ]

    // MARK: Reading

    public static func load(directory: URL) throws -> PolicyModelConfig {
        let url = directory.appendingPathComponent(fileName)
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw ParaRLError.io(path: url.path, reason: "cannot read the model config")
        }
        return try parse(data, source: url.path)
    }

    public static func parse(_ data: Data, source: String) throws -> PolicyModelConfig {
        guard let root = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw ParaRLError.invalidConfig(file: source, key: "(root)", reason: "not a JSON object")
        }
        // Metadata that does not change the computation loads, named in a warning (transformers ≥ 4.56 writes
        // "dtype" where it wrote "torch_dtype"); the keys our own config.json carries stay silent.
        let ignored = root.keys.filter { ignoredFields.contains($0) && !ownMetadata.contains($0) }.sorted()
        if !ignored.isEmpty {
            FileHandle.standardError.write(Data("warning: \(source): ignoring \(ignored.joined(separator: ", ")) (metadata that does not change the computation)\n".utf8))
        }
        for key in root.keys.sorted() where !modelFields.contains(key) && !ignoredFields.contains(key) {
            guard let want = fixedFields[key] else { throw ParaRLError.unknownKey(file: source, key: key) }
            guard let value = root[key] else { continue }
            let ok: Bool
            switch want {
            case let b as Bool: ok = (value as? Bool) == b || (value as? NSNumber).map { $0 == NSNumber(value: b) } == true
            case let s as String: ok = (value as? String) == s
            case let i as Int: ok = (value as? Int) == i
            default: ok = false
            }
            guard ok || value is NSNull else {
                throw ParaRLError.invalidConfig(file: source, key: key, reason: "must be \(want) for this architecture, got \(value)")
            }
        }
        func int(_ key: String) throws -> Int? {
            guard let v = root[key], !(v is NSNull) else { return nil }
            return try boundedInt(v, key: key, source: source)
        }
        func required(_ key: String) throws -> Int {
            guard let v = try int(key) else { throw ParaRLError.missingKey(file: source, key: key) }
            return v
        }
        func float(_ key: String) throws -> Float? {
            guard let v = root[key], !(v is NSNull) else { return nil }
            guard let n = v as? NSNumber else { throw ParaRLError.invalidConfig(file: source, key: key, reason: "must be a number") }
            return n.floatValue
        }
        let transformer = TransformerConfig(
            dModel: try required("d_model"), nLayers: try required("n_layers"), nHeads: try required("n_heads"),
            mlpHiddenSize: try required("mlp_hidden_size"), vocabSize: try required("vocab_size"),
            ropeTheta: try float("rope_theta") ?? 10_000, rmsNormEps: try float("rms_norm_eps") ?? 1e-5,
            embeddingSize: try int("embedding_size"), nKVHeads: try int("n_kv_heads"), maskTokenID: try int("mask_token_id"))
        // The weights alone, in F32, before anything is allocated (sizes are bounded, so this cannot overflow).
        let d = Double(transformer.dModel), embeddings = Double(transformer.vocabSize + (transformer.embeddingSize ?? transformer.vocabSize))
        let perLayer = 4 * d * d + 3 * d * Double(transformer.mlpHiddenSize) + 2 * d
        try Limits.checkMemory(4 * (embeddings * d + Double(transformer.nLayers) * perLayer + d), for: "the policy's weights",
                               file: source, key: "(model)")
        do {
            try transformer.validate()
        } catch let e as TransformerError {
            throw ParaRLError.invalidConfig(file: source, key: "(model)", reason: e.description)
        }
        var vocabulary: UnifiedVocabulary?
        if let ours = root["pararl"] {
            vocabulary = try parseVocabulary(ours, source: source)
        }
        if let v = vocabulary {
            try v.validate(source: source)
            guard v.size <= transformer.vocabSize else {
                throw ParaRLError.invalidConfig(file: source, key: "vocab_size",
                                                reason: "\(transformer.vocabSize) is smaller than the unified vocabulary (\(v.size) ids)")
            }
            if let m = transformer.maskTokenID, m != v.special.mask {
                throw ParaRLError.invalidConfig(file: source, key: "mask_token_id",
                                                reason: "\(m) differs from the [MASK] id \(v.special.mask) in \"pararl\"")
            }
        }
        let maxLength = try int("max_sequence_length") ?? 4096
        guard maxLength > 0 else {
            throw ParaRLError.invalidConfig(file: source, key: "max_sequence_length", reason: "must be positive")
        }
        // One sequence's activations of one layer (attention scores per head and the MLP), at the longest length.
        let length = Double(maxLength)
        try Limits.checkMemory(4 * length * (length * Double(transformer.nHeads) + 8 * d + 3 * Double(transformer.mlpHiddenSize)),
                               for: "one sequence of max_sequence_length \(maxLength)", file: source, key: "max_sequence_length")
        return PolicyModelConfig(transformer: transformer, maxSequenceLength: maxLength, vocabulary: vocabulary)
    }

    /// A JSON integer in 0…`Limits.dimension` (ids and sizes), so no arithmetic on it can overflow.
    static func boundedInt(_ v: Any, key: String, source: String) throws -> Int {
        guard let n = v as? NSNumber, n.doubleValue.isFinite, n.doubleValue.rounded() == n.doubleValue,
              (0...Double(Limits.dimension)).contains(n.doubleValue) else {
            throw ParaRLError.invalidConfig(file: source, key: key, reason: "must be an integer in 0…\(Limits.dimension), got \(v)")
        }
        return n.intValue
    }

    static func parseVocabulary(_ value: Any, source: String) throws -> UnifiedVocabulary {
        guard let obj = value as? [String: Any] else {
            throw ParaRLError.invalidConfig(file: source, key: "pararl", reason: "must be an object")
        }
        let allowed = Set(UnifiedVocabulary.CodingKeys.allCases.map(\.rawValue))
        for k in obj.keys.sorted() where !allowed.contains(k) { throw ParaRLError.unknownKey(file: source, key: "pararl.\(k)") }
        func int(_ o: [String: Any], _ key: String, _ path: String) throws -> Int {
            guard let v = o[key] else { throw ParaRLError.missingKey(file: source, key: path) }
            return try boundedInt(v, key: path, source: source)
        }
        let textCount = try int(obj, "text_vocab_size", "pararl.text_vocab_size")
        let codebookSize = try int(obj, "codebook_size", "pararl.codebook_size")
        var vocabulary = UnifiedVocabulary(textCount: textCount, codebookSize: codebookSize)
        if obj["codebook_offset"] != nil {
            vocabulary.codebookOffset = try int(obj, "codebook_offset", "pararl.codebook_offset")
            vocabulary.special = SpecialTokens(first: vocabulary.codebookOffset + codebookSize)
        }
        if let specials = obj["special_tokens"] {
            guard let s = specials as? [String: Any] else {
                throw ParaRLError.invalidConfig(file: source, key: "pararl.special_tokens", reason: "must be an object")
            }
            let names = Set(SpecialTokens.CodingKeys.allCases.map(\.rawValue))
            for k in s.keys.sorted() where !names.contains(k) {
                throw ParaRLError.unknownKey(file: source, key: "pararl.special_tokens.\(k)")
            }
            func id(_ name: String) throws -> Int { try int(s, name, "pararl.special_tokens.\(name)") }
            vocabulary.special = SpecialTokens(first: 0)
            vocabulary.special.thinkGen = try id("<|thinkgen|>"); vocabulary.special.thinkEdit = try id("<|thinkedit|>")
            vocabulary.special.soi = try id("<|soi|>"); vocabulary.special.eoi = try id("<|eoi|>")
            vocabulary.special.bos = try id("<|bos|>"); vocabulary.special.eos = try id("<|eos|>")
            vocabulary.special.pad = try id("<|pad|>"); vocabulary.special.mask = try id("[MASK]")
            vocabulary.special.uncond = try id("<|uncond|>")
        }
        return vocabulary
    }

    // MARK: Writing

    /// config.json text: LLaDA's fields (as LLaDA's own code writes them) and ours under "pararl", keys sorted.
    public func jsonData() throws -> Data {
        let t = transformer
        var root: [String: Any] = [
            "architectures": ["LLaDAModelLM"], "model_type": "llada",
            "d_model": t.dModel, "n_layers": t.nLayers, "n_heads": t.nHeads, "n_kv_heads": t.nKVHeads,
            "mlp_hidden_size": t.mlpHiddenSize, "rope_theta": Double(t.ropeTheta), "rms_norm_eps": Double(t.rmsNormEps),
            "vocab_size": t.vocabSize, "embedding_size": t.embeddingSize, "max_sequence_length": maxSequenceLength,
        ]
        for (k, v) in Self.fixedFields { root[k] = v }
        if let m = t.maskTokenID { root["mask_token_id"] = m }
        if let v = vocabulary {
            var specials: [String: Any] = [:]
            for (name, id) in v.special.all { specials[name] = id }
            root["pararl"] = ["text_vocab_size": v.textCount, "codebook_size": v.codebookSize,
                              "codebook_offset": v.codebookOffset, "special_tokens": specials] as [String: Any]
            root["eos_token_id"] = v.special.eos
            root["pad_token_id"] = v.special.pad
        }
        return try JSONSerialization.data(withJSONObject: root, options: [.prettyPrinted, .sortedKeys])
    }
}
