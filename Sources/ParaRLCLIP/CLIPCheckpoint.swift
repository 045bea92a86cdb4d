// Loading and saving CLIP model folders in Hugging Face layout (config.json + model.safetensors, HF key names),
// and loading OpenAI CLIP / open_clip key names through a rename table. Loading is strict: a missing tensor,
// a tensor no parameter uses and a wrong shape are all errors naming the key and file. F32, F16 and BF16.
import Foundation
import ParaRLCore

/// How a parameter is made from its OpenAI tensor.
enum CLIPRenameTransform: Equatable {
    case identity
    /// A [a, b] matrix stored as [b, a] (`text_projection`, `visual.proj`).
    case transpose
    /// Part `index` of 3 equal row blocks (`in_proj_weight` = cat(q, k, v)).
    case inProjChunk(Int)
}

/// The OpenAI CLIP / open_clip → HF `CLIPModel` key table (as transformers' convert_clip_original_pytorch_to_hf).
enum CLIPRenameTable {
    /// Per encoder layer: HF suffix, OpenAI suffix, transform.
    static let layerRules: [(String, String, CLIPRenameTransform)] = [
        ("self_attn.q_proj.weight", "attn.in_proj_weight", .inProjChunk(0)),
        ("self_attn.k_proj.weight", "attn.in_proj_weight", .inProjChunk(1)),
        ("self_attn.v_proj.weight", "attn.in_proj_weight", .inProjChunk(2)),
        ("self_attn.q_proj.bias", "attn.in_proj_bias", .inProjChunk(0)),
        ("self_attn.k_proj.bias", "attn.in_proj_bias", .inProjChunk(1)),
        ("self_attn.v_proj.bias", "attn.in_proj_bias", .inProjChunk(2)),
        ("self_attn.out_proj.weight", "attn.out_proj.weight", .identity),
        ("self_attn.out_proj.bias", "attn.out_proj.bias", .identity),
        ("layer_norm1.weight", "ln_1.weight", .identity), ("layer_norm1.bias", "ln_1.bias", .identity),
        ("layer_norm2.weight", "ln_2.weight", .identity), ("layer_norm2.bias", "ln_2.bias", .identity),
        ("mlp.fc1.weight", "mlp.c_fc.weight", .identity), ("mlp.fc1.bias", "mlp.c_fc.bias", .identity),
        ("mlp.fc2.weight", "mlp.c_proj.weight", .identity), ("mlp.fc2.bias", "mlp.c_proj.bias", .identity),
    ]
    /// Encoder layer prefixes: HF, OpenAI.
    static let towerPrefixes = [("text_model.encoder.layers.", "transformer.resblocks."),
                                ("vision_model.encoder.layers.", "visual.transformer.resblocks.")]
    /// Everything outside the encoder layers: HF name, OpenAI name, transform.
    static let globalRules: [(String, String, CLIPRenameTransform)] = [
        ("text_model.embeddings.token_embedding.weight", "token_embedding.weight", .identity),
        ("text_model.embeddings.position_embedding.weight", "positional_embedding", .identity),
        ("text_model.final_layer_norm.weight", "ln_final.weight", .identity),
        ("text_model.final_layer_norm.bias", "ln_final.bias", .identity),
        ("text_projection.weight", "text_projection", .transpose),
        ("vision_model.embeddings.class_embedding", "visual.class_embedding", .identity),
        ("vision_model.embeddings.patch_embedding.weight", "visual.conv1.weight", .identity),
        ("vision_model.embeddings.position_embedding.weight", "visual.positional_embedding", .identity),
        ("vision_model.pre_layrnorm.weight", "visual.ln_pre.weight", .identity),
        ("vision_model.pre_layrnorm.bias", "visual.ln_pre.bias", .identity),
        ("vision_model.post_layernorm.weight", "visual.ln_post.weight", .identity),
        ("vision_model.post_layernorm.bias", "visual.ln_post.bias", .identity),
        ("visual_projection.weight", "visual.proj", .transpose),
        ("logit_scale", "logit_scale", .identity),
    ]

    /// The OpenAI key and transform that give HF parameter `name`, or nil when the table has no rule.
    static func source(of name: String) -> (String, CLIPRenameTransform)? {
        if let rule = globalRules.first(where: { $0.0 == name }) { return (rule.1, rule.2) }
        for (hf, oa) in towerPrefixes where name.hasPrefix(hf) {
            let rest = name.dropFirst(hf.count)
            guard let dot = rest.firstIndex(of: "."), let layer = Int(rest[rest.startIndex..<dot]) else { return nil }
            let suffix = String(rest[rest.index(after: dot)...])
            if let rule = layerRules.first(where: { $0.0 == suffix }) { return ("\(oa)\(layer).\(rule.1)", rule.2) }
        }
        return nil
    }

    /// The stored shape of a parameter of shape `shape` under `transform`.
    static func storedShape(_ shape: [Int], _ transform: CLIPRenameTransform) -> [Int] {
        switch transform {
        case .identity: return shape
        case .transpose: return shape.reversed()
        case .inProjChunk: return [3 * (shape.first ?? 0)] + shape.dropFirst()
        }
    }
}

/// Key naming of a checkpoint.
public enum CLIPKeyNaming: String, Sendable {
    case huggingFace, openAI
}

extension CLIPModel {
    public static let configFileName = "config.json"

    /// Loads a model folder: `config.json` plus `model.safetensors` (or shards) with HF or OpenAI key names.
    public static func load(directory: URL) throws -> CLIPModel {
        let config = try CLIPConfig.load(url: directory.appendingPathComponent(configFileName))
        let model = try CLIPModel(config: config)
        try model.loadWeights(directory: directory)
        return model
    }

    /// Fills every parameter from the checkpoint in `directory`, strictly; returns the key naming it found.
    @discardableResult
    public func loadWeights(directory: URL) throws -> CLIPKeyNaming {
        let checkpoint = try SafetensorsCheckpoint.open(directory: directory)
        let names = Set(checkpoint.tensorNames)
        let naming: CLIPKeyNaming = names.contains("visual.conv1.weight") || names.contains("token_embedding.weight")
            ? .openAI : .huggingFace
        let path = checkpoint.shards.count == 1 ? checkpoint.shards[0].path : directory.path
        var used = Set<String>()
        var cache: [String: [Float]] = [:]
        for entry in params.layout.entries {
            let (key, transform): (String, CLIPRenameTransform)
            if naming == .huggingFace {
                (key, transform) = (entry.name, .identity)
            } else {
                guard let rule = CLIPRenameTable.source(of: entry.name) else {
                    throw CLIPError.missingTensor(path: path, tensor: entry.name)
                }
                (key, transform) = rule
            }
            guard names.contains(key) else { throw CLIPError.missingTensor(path: path, tensor: key) }
            let expected = CLIPRenameTable.storedShape(entry.shape, transform)
            let found = try checkpoint.shape(key)
            guard found == expected else { throw CLIPError.wrongShape(path: path, tensor: key, expected: expected, found: found) }
            let values: [Float]
            if let cached = cache[key] { values = cached } else {
                values = try checkpoint.floats(key)
                if case .inProjChunk = transform { cache[key] = values }
            }
            used.insert(key)
            let dst = params[entry.name]
            switch transform {
            case .identity:
                values.withUnsafeBufferPointer { src in
                    if let base = src.baseAddress { dst.update(from: base, count: entry.count) }
                }
            case .transpose:  // stored [cols, rows] → parameter [rows, cols]
                let rows = entry.shape[0], cols = entry.shape[1]
                for r in 0..<rows { for c in 0..<cols { dst[r * cols + c] = values[c * rows + r] } }
            case .inProjChunk(let part):
                for i in 0..<entry.count { dst[i] = values[part * entry.count + i] }
            }
        }
        if let extra = checkpoint.tensorNames.first(where: { !used.contains($0) }) {
            throw CLIPError.unusedTensor(path: path, tensor: extra)
        }
        return naming
    }

    /// Writes the model folder in HF layout (`config.json`, `model.safetensors` with HF keys, F32 unless `dtype` says
    /// F16 or BF16), each file atomically.
    public func save(directory: URL, dtype: SafetensorsDType = .f32) throws {
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw CLIPError.io(path: directory.path, reason: "cannot create the folder: \(error.localizedDescription)")
        }
        var writer = SafetensorsWriter(metadata: ["format": "pt"])
        for e in params.layout.entries {
            try writer.add(e.name, shape: e.shape, floats: Array(UnsafeBufferPointer(start: params[e.name], count: e.count)), as: dtype)
        }
        try writer.write(to: directory.appendingPathComponent(SafetensorsCheckpoint.singleFileName))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let configURL = directory.appendingPathComponent(CLIPModel.configFileName)
        do {
            try encoder.encode(config).write(to: configURL, options: .atomic)
        } catch {
            throw CLIPError.io(path: configURL.path, reason: "cannot write: \(error.localizedDescription)")
        }
    }
}
