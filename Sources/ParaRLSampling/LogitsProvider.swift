// The seam between "a model that gives logits" and the schedulers: the sampler asks for logits at chosen rows of a
// batched forward pass, over the text slice or the image slice of the unified vocabulary (docs/design.md §3.2: logits only
// where needed). `PolicyLogitsProvider` serves them from the policy transformer, reusing activations per batch size.
import Foundation
import ParaRLCore
import ParaRLPolicy

public protocol SamplerLogitsProvider: AnyObject {
    /// One forward pass over `batch` sequences of `length` tokens (`keyMask`: 1 attend, 0 padding), then logits at
    /// `textRows` over the text slice and at `imageRows` over the image slice (rows index the flat batch·length
    /// positions). Returns row-major [textRows.count, text width] and [imageRows.count, K].
    func logits(tokens: [Int32], keyMask: [UInt8], batch: Int, length: Int, textRows: [Int32], imageRows: [Int32]) throws
        -> (text: [Float], image: [Float])
}

/// Logits of a `Policy`'s transformer (MMaDA head restricted to the modality slice).
public final class PolicyLogitsProvider: SamplerLogitsProvider {
    public let policy: Policy
    public let vocabulary: UnifiedVocabulary
    /// Activations per batch size, most recently used last; at most `cachedBatchSizes` are kept (each holds one
    /// layer's forward buffers, tens of MB at the tiny model's sizes).
    private var activations: [(batch: Int, acts: TransformerActivations)] = []
    private var activationLength = 0
    public static let cachedBatchSizes = 3

    public init(policy: Policy) throws {
        self.policy = policy
        vocabulary = try policy.vocabulary()
    }

    public func logits(tokens: [Int32], keyMask: [UInt8], batch: Int, length: Int, textRows: [Int32], imageRows: [Int32]) throws
        -> (text: [Float], image: [Float]) {
        let tc = policy.config.transformer
        guard batch >= 1, length >= 1, tokens.count == batch * length, keyMask.count == tokens.count else {
            throw SamplingError.invalidInput("\(tokens.count) tokens and \(keyMask.count) mask entries for batch \(batch) × length \(length)")
        }
        guard length <= policy.config.maxSequenceLength else {
            throw SamplingError.invalidInput("sequence length \(length) exceeds the policy's max_sequence_length \(policy.config.maxSequenceLength)")
        }
        if let bad = tokens.first(where: { $0 < 0 || Int($0) >= tc.vocabSize }) {
            throw SamplingError.invalidInput("token \(bad) is outside 0..<vocab_size (\(tc.vocabSize))")
        }
        if let bad = (textRows + imageRows).first(where: { $0 < 0 || Int($0) >= batch * length }) {
            throw SamplingError.invalidInput("row \(bad) is outside 0..<\(batch * length)")
        }
        if activationLength != length { activations = []; activationLength = length }
        let acts: TransformerActivations
        if let i = activations.firstIndex(where: { $0.batch == batch }) {
            acts = activations.remove(at: i).acts
        } else {
            if activations.count >= Self.cachedBatchSizes { activations.removeFirst() }
            acts = TransformerActivations(config: tc, b: batch, t: length, training: false)
        }
        activations.append((batch, acts))
        tokens.withUnsafeBufferPointer { t in
            keyMask.withUnsafeBufferPointer { m in
                if let tb = t.baseAddress, let mb = m.baseAddress { policy.model.forward(tokens: tb, keyMask: mb, acts: acts) }
            }
        }
        return (head(textRows, slice: vocabulary.textSlice, acts: acts), head(imageRows, slice: vocabulary.imageSlice, acts: acts))
    }

    private func head(_ rows: [Int32], slice: VocabularySlice, acts: TransformerActivations) -> [Float] {
        let p = rows.count, w = slice.count, c = policy.config.transformer.dModel
        guard p > 0 else { return [] }
        var logits = [Float](repeating: 0, count: p * w), hidden = [Float](repeating: 0, count: p * c)
        rows.withUnsafeBufferPointer { r in
            if let rb = r.baseAddress { policy.model.headForward(logits: &logits, hiddenRows: &hidden, rows: rb, p: p, slice: slice, acts: acts) }
        }
        return logits
    }
}
