// The SFT objective (docs/design.md §3.3) on the micro model: finite differences through the whole loss (with the
// 1/t text weighting and the modality restriction), the loss against a hand computation from restricted
// logits, the restriction itself, and the masking rule.
import Foundation
import Testing
import ParaRLCore
import ParaRLWorld
import ParaRLPolicy
@testable import ParaRLSFT
import TestSupport

@Suite("Policy SFT objective")
struct SFTObjectiveTests {
    static let vocabulary = UnifiedVocabulary(textCount: 11, codebookSize: 8)
    static let layout = SequenceLayout(instructionLength: 3, textLength: 5, imageCodes: 4, filler: .eos)

    /// A random micro policy (embedding rows beyond the vocabulary included) and a noised batch of two.
    static func setup(seed: UInt64 = 7) throws -> (Policy, SFTLoss, [NoisedSequence]) {
        var config = PolicyArchitecture()
        config.dModel = 8; config.nLayers = 1; config.nHeads = 2; config.mlpHiddenSize = 12; config.maxSequenceLength = 64
        var model = config.modelConfig(vocabulary: vocabulary)
        model.transformer.embeddingSize = vocabulary.size + 3
        let policy = try Policy(config: model)
        var rng = RandomStream(seed: seed)
        policy.initialise(std: 0.5, rng: &rng)
        let builder = try SequenceBuilder(layout: layout, vocabulary: vocabulary)
        let samples = [
            PolicySample(id: "a", kind: .edit, instruction: [1, 2, 3, 4], inputImage: [0, 1, 2, 3], reasoning: [5, 6],
                         outputImage: [3, 2, 1, 0]),
            PolicySample(id: "b", kind: .generate, instruction: [7], inputImage: nil, reasoning: [8, 9, 10, 1],
                         outputImage: [5, 6, 7, 7]),
        ]
        var noise = RandomStream(seed: seed).split("noise")
        let ts: [Float] = [0.25, 0.7]
        let batch = try zip(samples, ts).map { s, t in
            MaskingNoise.apply(try builder.build(s), layout: layout, maskID: vocabulary.special.mask, t: t, rng: &noise)
        }
        return (policy, try SFTLoss(policy: policy, layout: layout, batch: 2), batch)
    }

    @Test("gradients match central finite differences (head rows of both slices, embedding, attention, norms)")
    func finiteDifferences() throws {
        let (policy, loss, batch) = try Self.setup()
        #expect(batch.contains { $0.maskedPositions.contains { Self.layout.textRegion.contains($0) } })
        #expect(batch.contains { $0.maskedPositions.contains { Self.layout.imageRegion.contains($0) } })
        policy.model.grads.zero()
        _ = try loss.run(batch, backward: true)
        let c = 8
        let checks: [(String, Range<Int>)] = [
            ("model.transformer.ff_out.weight", 0..<(11 * c)),                       // text rows
            ("model.transformer.ff_out.weight", (24 * c)..<(26 * c)),                // <|eos|>, <|pad|> rows
            ("model.transformer.ff_out.weight", (11 * c)..<(19 * c)),                // image-code rows
            ("model.transformer.wte.weight", (26 * c)..<(27 * c)),                   // [MASK] embedding
            ("model.transformer.blocks.0.q_proj.weight", 0..<24),
            ("model.transformer.blocks.0.ff_norm.weight", 0..<8),
            ("model.transformer.ln_f.weight", 0..<8),
        ]
        for (name, range) in checks {
            let p = policy.model.params[name] + range.lowerBound
            let analytic = Array(UnsafeBufferPointer(start: policy.model.grads[name] + range.lowerBound, count: range.count))
            let base = Array(UnsafeBufferPointer(start: p, count: range.count))
            let numeric = numericalGradient(base, eps: 1e-2) { x in
                p.update(from: x, count: x.count)
                defer { p.update(from: base, count: base.count) }
                return (try? loss.run(batch, backward: false).loss) ?? .nan
            }
            let err = relativeError(analytic, numeric, floor: 1e-3)
            #expect(err < 2e-2, "\(name)[\(range)]: relative error \(err)")
        }
    }

    @Test("the loss is Σ w·CE with w_text = 1/t, w_img = 1, over restricted logits, / (N + L_text) / B")
    func lossFormula() throws {
        let (policy, loss, batch) = try Self.setup()
        let result = try loss.run(batch, backward: false)
        let t = Self.layout.length
        var expected = 0.0, textCount = 0, imageCount = 0
        for (b, s) in batch.enumerated() {
            for (p, target) in zip(s.maskedPositions, s.targets) {
                let m: Modality = Self.layout.imageRegion.contains(p) ? .image : .text
                let row = try policy.logits(tokens: batch.flatMap(\.tokens), batch: 2, length: t,
                                            keyMask: batch.flatMap(\.keyMask), positions: [b * t + p], modalities: [m])[0]
                #expect(row.count == (m == .text ? 13 : 8))
                let top = row.max() ?? 0
                let logSum = log(row.reduce(0.0) { $0 + exp(Double($1 - top)) }) + Double(top)
                let column = try #require(Self.vocabulary.column(of: Int(target), in: m))
                let ce = logSum - Double(row[column])
                let w = (m == .text ? 1 / Double(s.t) : 1) / Double(Self.layout.outputPositions.count * 2)
                expected += w * ce
                if m == .text { textCount += 1 } else { imageCount += 1 }
            }
        }
        #expect(abs(result.loss - expected) / expected < 1e-5, "loss \(result.loss) vs \(expected)")
        #expect(result.textMasked == textCount && result.imageMasked == imageCount)
    }

    @Test("head rows outside both slices get no gradient; text logits ignore image-code rows")
    func restriction() throws {
        let (policy, loss, batch) = try Self.setup()
        policy.model.grads.zero()
        _ = try loss.run(batch, backward: true)
        let c = 8, head = policy.model.grads["model.transformer.ff_out.weight"]
        for id in [19, 20, 21, 22, 23, 26, 27, 28, 29, 30] {  // specials other than eos/pad, and padding rows
            #expect((0..<c).allSatisfy { head[id * c + $0] == 0 }, "head row \(id)")
        }
        let t = Self.layout.length, tokens = batch.flatMap(\.tokens), keyMask = batch.flatMap(\.keyMask)
        let position = Self.layout.textRegion.lowerBound
        let before = try policy.logits(tokens: tokens, batch: 2, length: t, keyMask: keyMask, positions: [position], modalities: [.text])
        let w = policy.model.params["model.transformer.ff_out.weight"]
        for i in (11 * c)..<(19 * c) { w[i] += 5 }
        let after = try policy.logits(tokens: tokens, batch: 2, length: t, keyMask: keyMask, positions: [position], modalities: [.text])
        #expect(before == after)
    }

    @Test("masking touches only output positions, at rate ≈ t, at least one")
    func masking() throws {
        let builder = try SequenceBuilder(layout: Self.layout, vocabulary: Self.vocabulary)
        let seq = try builder.build(PolicySample(id: "x", kind: .generate, instruction: [1], inputImage: nil,
                                                 reasoning: [2], outputImage: [0, 1, 2, 3]))
        var rng = RandomStream(seed: 3)
        var total = 0
        let outputs = Set(Self.layout.outputPositions)
        for _ in 0..<400 {
            let n = MaskingNoise.apply(seq, layout: Self.layout, maskID: Self.vocabulary.special.mask, t: 0.3, rng: &rng)
            #expect(Set(n.maskedPositions).isSubset(of: outputs))
            #expect(!n.maskedPositions.isEmpty)
            total += n.maskedPositions.count
        }
        let rate = Double(total) / Double(400 * outputs.count)
        #expect(abs(rate - 0.3) < 0.03, "mask rate \(rate)")
        let tiny = MaskingNoise.apply(seq, layout: Self.layout, maskID: Self.vocabulary.special.mask, t: 1e-6, rng: &rng)
        #expect(tiny.maskedPositions.count == 1)
    }
}
