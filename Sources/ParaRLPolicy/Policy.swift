// The policy (docs/design.md §3.2): the LLaDA/MMaDA transformer of ParaRLCore with its config.json, strict loading
// of MMaDA-format safetensors (F32/BF16/F16, single or sharded), and logits restricted to a position's modality.
import Foundation
import ParaRLCore
import ParaRLRunKit

public final class Policy: @unchecked Sendable {
    public let config: PolicyModelConfig
    public let model: Transformer

    public init(config: PolicyModelConfig) throws {
        self.config = config
        do {
            model = try Transformer(config: config.transformer, maxSequenceLength: config.maxSequenceLength)
        } catch let e as TransformerError {
            throw ParaRLError.invalidConfig(file: "(model config)", key: "(model)", reason: e.description)
        }
    }

    /// The vocabulary layout, required for modality-restricted logits and training.
    public func vocabulary() throws -> UnifiedVocabulary {
        guard let v = config.vocabulary else {
            throw ParaRLError.invalidInput("the checkpoint's config.json has no \"pararl\" vocabulary section")
        }
        return v
    }

    // MARK: Checkpoint folders

    public static let weightsFileName = "model.safetensors"

    /// Loads config.json and the weights of a checkpoint folder.
    public static func load(directory: URL) throws -> Policy {
        let policy = try Policy(config: try PolicyModelConfig.load(directory: directory))
        try policy.loadWeights(from: try SafetensorsCheckpoint.open(directory: directory))
        return policy
    }

    /// Strict: every parameter present with its exact shape, no other tensor. Any float dtype is widened exactly.
    public func loadWeights(from checkpoint: SafetensorsCheckpoint) throws {
        let path = checkpoint.directory.path
        let expected = Set(model.params.layout.entries.map(\.name))
        if let extra = checkpoint.tensorNames.first(where: { !expected.contains($0) }) {
            throw ParaRLError.checkpointMismatch(path: path, tensor: extra, reason: "not a parameter of this model")
        }
        let present = Set(checkpoint.tensorNames)
        for e in model.params.layout.entries {
            guard present.contains(e.name) else {
                throw ParaRLError.checkpointMismatch(path: path, tensor: e.name, reason: "missing")
            }
            let shape = try checkpoint.shape(e.name)
            guard shape == e.shape else {
                throw ParaRLError.checkpointMismatch(path: path, tensor: e.name, reason: "shape \(shape), expected \(e.shape)")
            }
            let values = try checkpoint.floats(e.name)
            model.params[e.name].update(from: values, count: e.count)
        }
    }

    /// The parameters as a safetensors writer (MMaDA names, `[out, in]` layout) in `dtype`.
    public func weightsWriter(dtype: SafetensorsDType = .f32) throws -> SafetensorsWriter {
        var writer = SafetensorsWriter(metadata: ["format": "pt"])
        for e in model.params.layout.entries {
            let values = Array(UnsafeBufferPointer(start: model.params[e.name], count: e.count))
            try writer.add(e.name, shape: e.shape, floats: values, as: dtype)
        }
        return writer
    }

    /// Writes config.json and model.safetensors into an existing folder (each file atomically).
    public func save(directory: URL, dtype: SafetensorsDType = .f32) throws {
        try AtomicFile.write(try config.jsonData(), to: directory.appendingPathComponent(PolicyModelConfig.fileName))
        try weightsWriter(dtype: dtype).write(to: directory.appendingPathComponent(Self.weightsFileName))
    }

    // MARK: Logits

    /// Logits at `positions` (indices into the B·T flat sequence) of a forward pass over `tokens` [B·T].
    /// With `restrict`, each row covers only its modality's slice (`modalities[i]`); otherwise the whole
    /// vocabulary (`vocab_size` columns). Returns one row per position.
    public func logits(tokens: [Int32], batch b: Int, length t: Int, keyMask: [UInt8]? = nil, positions: [Int],
                       modalities: [Modality]? = nil) throws -> [[Float]] {
        let tc = config.transformer
        guard tokens.count == b * t, b > 0, t > 0 else {
            throw ParaRLError.invalidInput("\(tokens.count) tokens do not fill batch \(b) × length \(t)")
        }
        guard t <= config.maxSequenceLength else {
            throw ParaRLError.invalidInput("length \(t) exceeds max_sequence_length \(config.maxSequenceLength)")
        }
        if let bad = tokens.first(where: { $0 < 0 || Int($0) >= tc.vocabSize }) {
            throw ParaRLError.invalidInput("token \(bad) is outside 0..<vocab_size (\(tc.vocabSize))")
        }
        if let bad = positions.first(where: { $0 < 0 || $0 >= b * t }) {
            throw ParaRLError.invalidInput("position \(bad) is outside 0..<\(b * t)")
        }
        if let m = modalities, m.count != positions.count {
            throw ParaRLError.invalidInput("\(m.count) modalities for \(positions.count) positions")
        }
        if let mask = keyMask, mask.count != tokens.count {
            throw ParaRLError.invalidInput("key mask has \(mask.count) entries for \(tokens.count) tokens")
        }
        let acts = TransformerActivations(config: tc, b: b, t: t, training: false)
        if let mask = keyMask {
            model.forward(tokens: tokens, keyMask: mask, acts: acts)
        } else {
            model.forward(tokens: tokens, keyMask: nil, acts: acts)
        }
        var groups: [(VocabularySlice, [Int])] = []
        if let modalities {
            let v = try vocabulary()
            for m in Modality.allCases {
                groups.append((v.slice(m), positions.indices.filter { modalities[$0] == m }))
            }
        } else {
            groups.append((VocabularySlice([0..<tc.vocabSize]), Array(positions.indices)))
        }
        var out = [[Float]](repeating: [], count: positions.count)
        for (slice, indices) in groups where !indices.isEmpty {
            let rows = indices.map { Int32(positions[$0]) }, p = rows.count, w = slice.count
            var logits = [Float](repeating: 0, count: p * w), hidden = [Float](repeating: 0, count: p * tc.dModel)
            model.headForward(logits: &logits, hiddenRows: &hidden, rows: rows, p: p, slice: slice, acts: acts)
            for (r, i) in indices.enumerated() { out[i] = Array(logits[(r * w)..<((r + 1) * w)]) }
        }
        return out
    }
}

extension Policy: CheckpointModel {
    /// Training checkpoints keep exact F32 weights.
    public func save(directory: URL) throws { try save(directory: directory, dtype: .f32) }
}
