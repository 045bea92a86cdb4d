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
        #expect(throws: TransformerError.self) {  // grouped-query attention is not implemented
            try TransformerConfig(dModel: 8, nLayers: 1, nHeads: 2, mlpHiddenSize: 8, vocabSize: 5, nKVHeads: 1).validate()
        }
        #expect(throws: TransformerError.self) {
            try TransformerConfig(dModel: 8, nLayers: 1, nHeads: 2, mlpHiddenSize: 8, vocabSize: 5, embeddingSize: 4).validate()
        }
        #expect(throws: TransformerError.self) {
            try TransformerConfig(dModel: 8, nLayers: 1, nHeads: 2, mlpHiddenSize: 8, vocabSize: 5, maskTokenID: 5).validate()
        }
        let padded = TransformerConfig(dModel: 8, nLayers: 1, nHeads: 2, mlpHiddenSize: 8, vocabSize: 5, embeddingSize: 7)
        #expect(padded.parameterShapes.first?.1 == [7, 8] && padded.parameterShapes.last?.1 == [7, 8])
    }

    @Test("LLaDA's config.json fields decode; absent optional fields take their defaults")
    func decodesLLaDAConfig() throws {
        let json = #"{"d_model": 8, "n_layers": 1, "n_heads": 2, "mlp_hidden_size": 8, "vocab_size": 5, "embedding_size": 8, "mask_token_id": 4}"#
        let c = try JSONDecoder().decode(TransformerConfig.self, from: Data(json.utf8))
        #expect(c.embeddingSize == 8 && c.nKVHeads == 2 && c.maskTokenID == 4 && c.ropeTheta == 10_000 && c.rmsNormEps == 1e-5)
    }

    @Test("two head passes with accumulate give the gradient of one pass over both row sets")
    func headBackwardAccumulates() throws {
        let (model, file) = try Self.fixtureModel()
        let tokens = try file.int32s("tokens"), keyMask = try file.int32s("key_mask").map { UInt8($0) }
        let shape = try file.shape("tokens")
        let acts = TransformerActivations(config: model.config, b: shape[0], t: shape[1])
        let slice = VocabularySlice([0..<model.config.vocabSize]), w = slice.count, c = model.config.dModel
        model.forward(tokens: tokens, keyMask: keyMask, acts: acts)
        func pass(_ rows: [Int32], accumulate: Bool) {
            var logits = [Float](repeating: 0, count: rows.count * w), hidden = [Float](repeating: 0, count: rows.count * c)
            model.headForward(logits: &logits, hiddenRows: &hidden, rows: rows, p: rows.count, slice: slice, acts: acts)
            let dlogits = logits.map { 0.1 * $0 }
            model.headBackward(dlogits: dlogits, hiddenRows: hidden, rows: rows, p: rows.count, slice: slice, acts: acts,
                               accumulate: accumulate)
        }
        model.grads.zero()
        pass([0, 3, 5, 9], accumulate: false)
        model.backward(tokens: tokens, acts: acts)
        let together = Array(model.grads.buffer)
        model.grads.zero()
        pass([0, 5], accumulate: false)
        pass([3, 9], accumulate: true)
        model.backward(tokens: tokens, acts: acts)
        #expect(relativeError(Array(model.grads.buffer), together) < 1e-5)
    }
}
