// The SFT objective of MMaDA-Parallel (paper Eq. 1–2, docs/design.md §3.3): per sample t ~ U(eps, 1], each output
// token masked with probability t (at least one), loss = Σ_masked w·CE with w_text = 1/t and w_img = 1,
// normalised by the number of output positions N + L_text of the sample and averaged over the batch:
//   L = (1/B) Σ_b 1/(N + L_text) Σ_{i masked in b} w(t_b, i) · (−log p_θ(x_i | x_t)),
// with logits at text positions restricted to text ids + <|eos|>/<|pad|> and at image positions to codes.
import Foundation
import ParaRLCore
import ParaRLPolicy
import ParaRLRunKit

/// Loss and per-modality statistics of one batch.
public struct SFTLossResult: Sendable, Equatable {
    /// The objective L above.
    public var loss: Double
    /// Unweighted cross-entropy summed over masked text / image tokens, and their counts.
    public var textCESum: Double, imageCESum: Double
    public var textMasked: Int, imageMasked: Int
    /// Masked tokens whose argmax over the modality's slice is the clean token.
    public var textCorrect: Int, imageCorrect: Int

    public static let zero = SFTLossResult(loss: 0, textCESum: 0, imageCESum: 0, textMasked: 0, imageMasked: 0,
                                           textCorrect: 0, imageCorrect: 0)
    public mutating func add(_ o: SFTLossResult) {
        loss += o.loss; textCESum += o.textCESum; imageCESum += o.imageCESum
        textMasked += o.textMasked; imageMasked += o.imageMasked; textCorrect += o.textCorrect; imageCorrect += o.imageCorrect
    }
    public var textAccuracy: Double { textMasked > 0 ? Double(textCorrect) / Double(textMasked) : 0 }
    public var imageAccuracy: Double { imageMasked > 0 ? Double(imageCorrect) / Double(imageMasked) : 0 }
    public var textLoss: Double { textMasked > 0 ? textCESum / Double(textMasked) : 0 }
    public var imageLoss: Double { imageMasked > 0 ? imageCESum / Double(imageMasked) : 0 }
}

/// Forward (and backward) of the SFT objective for batches of a fixed size B × T; owns its activations.
public final class SFTLoss {
    public let policy: Policy
    public let layout: SequenceLayout
    public let batch: Int
    let vocabulary: UnifiedVocabulary
    let acts: TransformerActivations

    public init(policy: Policy, layout: SequenceLayout, batch: Int) throws {
        guard batch >= 1 else { throw ParaRLError.invalidInput("batch must be at least 1") }
        guard layout.length <= policy.config.maxSequenceLength else {
            throw ParaRLError.invalidInput("sequence length \(layout.length) exceeds max_sequence_length \(policy.config.maxSequenceLength)")
        }
        self.policy = policy
        self.layout = layout
        self.batch = batch
        vocabulary = try policy.vocabulary()
        acts = TransformerActivations(config: policy.config.transformer, b: batch, t: layout.length)
    }

    /// Rows, targets (slice columns) and weights of one modality across the batch.
    struct HeadRows {
        var rows: [Int32] = [], targets: [Int32] = [], weights: [Float] = []
    }

    /// Computes L for `samples` (exactly `batch` of them); with `backward`, adds dL/dθ into the policy's gradients.
    public func run(_ samples: [NoisedSequence], backward: Bool) throws -> SFTLossResult {
        let b = batch, t = layout.length, model = policy.model
        guard samples.count == b else { throw ParaRLError.invalidInput("\(samples.count) samples for a batch of \(b)") }
        var tokens = [Int32](), keyMask = [UInt8]()
        tokens.reserveCapacity(b * t); keyMask.reserveCapacity(b * t)
        var head: [Modality: HeadRows] = [.text: HeadRows(), .image: HeadRows()]
        let outputCount = Float(layout.outputPositions.count)
        let imageRegion = layout.imageRegion, textRegion = layout.textRegion
        for (i, s) in samples.enumerated() {
            guard s.tokens.count == t, s.keyMask.count == t else {
                throw ParaRLError.invalidInput("sample \(i) has \(s.tokens.count) tokens, the layout \(t)")
            }
            tokens += s.tokens; keyMask += s.keyMask
            for (p, target) in zip(s.maskedPositions, s.targets) {
                let m: Modality
                if imageRegion.contains(p) { m = .image } else if textRegion.contains(p) { m = .text } else {
                    throw ParaRLError.invalidInput("sample \(i): masked position \(p) is not an output position")
                }
                guard let column = vocabulary.column(of: Int(target), in: m) else {
                    throw ParaRLError.invalidInput("sample \(i): token \(target) at position \(p) is not a \(m.rawValue) id")
                }
                // w_text = 1/t, w_img = 1, normalised by the sample's output positions and the batch.
                let w: Float = (m == .text ? 1 / s.t : 1) / (outputCount * Float(b))
                head[m, default: HeadRows()].rows.append(Int32(i * t + p))
                head[m, default: HeadRows()].targets.append(Int32(column))
                head[m, default: HeadRows()].weights.append(w)
            }
        }
        model.forward(tokens: tokens, keyMask: keyMask, acts: acts)
        var result = SFTLossResult.zero
        var accumulate = false
        for m in Modality.allCases {
            guard let h = head[m], !h.rows.isEmpty else { continue }
            let slice = vocabulary.slice(m), p = h.rows.count, w = slice.count
            var logits = [Float](repeating: 0, count: p * w), probs = logits
            var hidden = [Float](repeating: 0, count: p * policy.config.transformer.dModel)
            var losses = [Float](repeating: 0, count: p)
            model.headForward(logits: &logits, hiddenRows: &hidden, rows: h.rows, p: p, slice: slice, acts: acts)
            let loss = MaskedCrossEntropy.forward(losses: &losses, probs: &probs, logits: logits, targets: h.targets,
                                                  weights: h.weights, p: p, w: w)
            var correct = 0
            for r in 0..<p {
                var best = 0, bestValue = logits[r * w]
                for j in 1..<w where logits[r * w + j] > bestValue { best = j; bestValue = logits[r * w + j] }
                if best == Int(h.targets[r]) { correct += 1 }
            }
            let ceSum = losses.reduce(0.0) { $0 + Double($1) }
            result.loss += loss
            if m == .text {
                result.textCESum = ceSum; result.textMasked = p; result.textCorrect = correct
            } else {
                result.imageCESum = ceSum; result.imageMasked = p; result.imageCorrect = correct
            }
            if backward {
                var dlogits = [Float](repeating: 0, count: p * w)
                MaskedCrossEntropy.backward(dlogits: &dlogits, probs: probs, targets: h.targets, weights: h.weights,
                                            dloss: 1, p: p, w: w)
                model.headBackward(dlogits: dlogits, hiddenRows: hidden, rows: h.rows, p: p, slice: slice, acts: acts,
                                   accumulate: accumulate)
                accumulate = true
            }
        }
        if backward && accumulate { model.backward(tokens: tokens, acts: acts) }
        return result
    }
}
