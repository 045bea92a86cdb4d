// The LLaDA-style transformer against the PyTorch fixture (tools/fixtures/make_transformer_fixture.py):
// logits, loss and every parameter gradient to ≤ 1e-4 relative error; plus a finite-difference spot check.
import Foundation
import Testing
import ParaRLCore
import TestSupport

@Suite("Transformer")
struct TransformerTests {
    /// Loads the fixture's config and weights into a model.
    static func fixtureModel() throws -> (Transformer, SafetensorsFile) {
        let file = try SafetensorsFile.read(url: fixtureURL("transformer_2block.safetensors"))
        func meta(_ k: String) throws -> String {
            guard let v = file.metadata[k] else { throw TransformerError.invalidConfig("fixture metadata lacks \(k)") }
            return v
        }
        let config = TransformerConfig(dModel: Int(try meta("d_model")) ?? 0, nLayers: Int(try meta("n_layers")) ?? 0,
                                       nHeads: Int(try meta("n_heads")) ?? 0, mlpHiddenSize: Int(try meta("mlp_hidden_size")) ?? 0,
                                       vocabSize: Int(try meta("vocab_size")) ?? 0, ropeTheta: Float(try meta("rope_theta")) ?? 0,
                                       rmsNormEps: Float(try meta("rms_norm_eps")) ?? 0)
        let model = try Transformer(config: config, maxSequenceLength: 16)
        for e in model.params.layout.entries {
            let values = try file.floats(e.name)
            #expect(try file.shape(e.name) == e.shape, "shape of \(e.name)")
            model.params[e.name].update(from: values, count: e.count)
        }
        return (model, file)
    }

    /// Runs forward, head, weighted CE and backward as the fixture script does; returns (logits, loss).
    static func run(_ model: Transformer, _ file: SafetensorsFile) throws -> ([Float], Double) {
        let tokens = try file.int32s("tokens"), keyMask = try file.int32s("key_mask").map { UInt8($0) }
        let rows = try file.int32s("rows"), targets = try file.int32s("targets"), weights = try file.floats("weights")
        let ids = try file.int32s("slice_ids").map(Int.init)
        let slice = VocabularySlice(contiguousRanges(ids))
        #expect(slice.count == ids.count)
        let shape = try file.shape("tokens")
        let acts = TransformerActivations(config: model.config, b: shape[0], t: shape[1])
        let p = rows.count, w = slice.count
        var logits = [Float](repeating: 0, count: p * w), probs = logits, dlogits = logits
        var hiddenRows = [Float](repeating: 0, count: p * model.config.dModel), losses = [Float](repeating: 0, count: p)
        model.forward(tokens: tokens, keyMask: keyMask, acts: acts)
        model.headForward(logits: &logits, hiddenRows: &hiddenRows, rows: rows, p: p, slice: slice, acts: acts)
        let loss = MaskedCrossEntropy.forward(losses: &losses, probs: &probs, logits: logits, targets: targets,
                                              weights: weights, p: p, w: w)
        model.grads.zero()
        MaskedCrossEntropy.backward(dlogits: &dlogits, probs: probs, targets: targets, weights: weights, dloss: 1, p: p, w: w)
        model.headBackward(dlogits: dlogits, hiddenRows: hiddenRows, rows: rows, p: p, slice: slice, acts: acts)
        model.backward(tokens: tokens, acts: acts)
        return (logits, loss)
    }

    static func contiguousRanges(_ ids: [Int]) -> [Range<Int>] {
        var ranges: [Range<Int>] = []
        for id in ids {
            if let last = ranges.last, last.upperBound == id { ranges[ranges.count - 1] = last.lowerBound..<(id + 1) }
            else { ranges.append(id..<(id + 1)) }
        }
        return ranges
    }

    @Test("forward, loss and all gradients match PyTorch to 1e-4 relative error")
    func parityWithPyTorch() throws {
        let (model, file) = try Self.fixtureModel()
        let (logits, loss) = try Self.run(model, file)
        let refLogits = try file.floats("logits"), refLoss = try file.floats("loss")[0]
        #expect(relativeError(logits, refLogits) <= 1e-4)
        #expect(abs(Float(loss) - refLoss) / abs(refLoss) <= 1e-4)
        var checked = 0
        for e in model.grads.layout.entries {
            let ours = Array(UnsafeBufferPointer(start: model.grads[e.name], count: e.count))
            let ref = try file.floats("grad." + e.name)
            let err = relativeError(ours, ref)
            #expect(err <= 1e-4, "gradient of \(e.name): relative error \(err)")
            checked += 1
        }
        #expect(checked == 2 + 2 * 9 + 1)
    }

    @Test("two runs give bitwise-identical logits and gradients")
    func deterministicRepeat() throws {
        let (model, file) = try Self.fixtureModel()
        let first = try Self.run(model, file)
        let g1 = Array(model.grads.buffer)
        let second = try Self.run(model, file)
        #expect(first.0 == second.0)
        #expect(Array(model.grads.buffer) == g1)
    }

    @Test("a slice of the q_proj gradient matches central finite differences")
    func finiteDifferenceSpotCheck() throws {
        let (model, file) = try Self.fixtureModel()
        _ = try Self.run(model, file)
        let name = "model.transformer.blocks.0.q_proj.weight"
        let analytic = Array(UnsafeBufferPointer(start: model.grads[name], count: 24))
        let base = Array(UnsafeBufferPointer(start: model.params[name], count: 24))
        let numeric = numericalGradient(base, eps: 1e-2) { x in
            model.params[name].update(from: x, count: x.count)
            return (try? Self.run(model, file).1) ?? .nan
        }
        #expect(relativeError(analytic, numeric) < 2e-2)
    }

    @Test("config validation names the broken field")
    func validation() {
        let bad = TransformerConfig(dModel: 10, nLayers: 1, nHeads: 3, mlpHiddenSize: 8, vocabSize: 5)
        #expect(throws: TransformerError.self) { try bad.validate() }
        #expect(throws: TransformerError.self) {
            try TransformerConfig(dModel: 6, nLayers: 1, nHeads: 2, mlpHiddenSize: 8, vocabSize: 5).validate()
        }
    }
}
