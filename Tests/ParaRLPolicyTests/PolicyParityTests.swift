// The policy against PyTorch (tools/fixtures/make_policy_fixture.py): strict loading of the MMaDA-format
// checkpoint (F32 single file and BF16 shards), the sequence layout, restricted and whole-vocabulary logits,
// and the SFT objective's loss and every gradient to ≤ 1e-4 relative error.
import Foundation
import Testing
import ParaRLCore
import ParaRLSFT
import ParaRLRunKit
import ParaRLWorld
@testable import ParaRLPolicy
import TestSupport

@Suite("Policy parity")
struct PolicyParityTests {
    static func reference() throws -> SafetensorsFile {
        try SafetensorsFile.read(url: fixtureURL("policy_micro_reference.safetensors"))
    }
    static let layout = SequenceLayout(instructionLength: 3, textLength: 4, imageCodes: 4, filler: .eos)
    static let samples = [
        PolicySample(id: "edit", kind: .edit, instruction: [3, 5, 7], inputImage: [0, 1, 2, 3], reasoning: [4, 6],
                     outputImage: [4, 5, 6, 7]),
        PolicySample(id: "gen", kind: .generate, instruction: [1, 2], inputImage: nil, reasoning: [9, 10, 8],
                     outputImage: [7, 7, 0, 1]),
    ]

    /// The fixture's noised batch, built through the sequence builder.
    static func noisedBatch(_ policy: Policy, _ ref: SafetensorsFile) throws -> [NoisedSequence] {
        let builder = try SequenceBuilder(layout: layout, vocabulary: try policy.vocabulary())
        let ts = try ref.floats("t")
        return try samples.enumerated().map { i, s in
            let seq = try builder.build(s)
            let masked = try ref.int32s("masked_\(i)").map(Int.init)
            var tokens = seq.tokens
            for p in masked { tokens[p] = Int32(try policy.vocabulary().special.mask) }
            return NoisedSequence(tokens: tokens, keyMask: seq.keyMask, maskedPositions: masked,
                                  targets: masked.map { seq.tokens[$0] }, t: ts[i])
        }
    }

    @Test("config.json loads with LLaDA's fields and ours")
    func configLoads() throws {
        let policy = try Policy.load(directory: fixtureURL("policy_micro"))
        let c = policy.config
        #expect(c.transformer.dModel == 16 && c.transformer.nLayers == 2 && c.transformer.vocabSize == 28)
        #expect(c.transformer.embeddingSize == 32 && c.transformer.maskTokenID == 26)
        #expect(c.vocabulary == UnifiedVocabulary(textCount: 11, codebookSize: 8))
        // Round trip through our writer.
        let again = try PolicyModelConfig.parse(try c.jsonData(), source: "roundtrip")
        #expect(again == c)
    }

    @Test("the sequence builder lays out both samples as the reference")
    func sequences() throws {
        let policy = try Policy.load(directory: fixtureURL("policy_micro"))
        let ref = try Self.reference()
        let builder = try SequenceBuilder(layout: Self.layout, vocabulary: try policy.vocabulary())
        let clean = try ref.int32s("clean_tokens"), mask = try ref.int32s("key_mask")
        let t = Self.layout.length
        for (i, s) in Self.samples.enumerated() {
            let seq = try builder.build(s)
            #expect(seq.tokens == Array(clean[(i * t)..<((i + 1) * t)]))
            #expect(seq.keyMask.map(Int32.init) == Array(mask[(i * t)..<((i + 1) * t)]))
            #expect(!seq.truncated)
        }
        let noised = try Self.noisedBatch(policy, ref)
        #expect(noised.flatMap(\.tokens) == (try ref.int32s("noised_tokens")))
    }

    @Test("restricted and whole-vocabulary logits match PyTorch to 1e-4")
    func logits() throws {
        let policy = try Policy.load(directory: fixtureURL("policy_micro"))
        let ref = try Self.reference()
        let batch = try Self.noisedBatch(policy, ref)
        let tokens = batch.flatMap(\.tokens), keyMask = batch.flatMap(\.keyMask)
        let t = Self.layout.length
        for m in Modality.allCases {
            let rows = try ref.int32s("\(m.rawValue)_rows").map(Int.init)
            let ours = try policy.logits(tokens: tokens, batch: 2, length: t, keyMask: keyMask, positions: rows,
                                         modalities: Array(repeating: m, count: rows.count))
            let err = relativeError(ours.flatMap { $0 }, try ref.floats("logits_\(m.rawValue)"))
            #expect(err <= 1e-4, "\(m) logits: relative error \(err)")
        }
        let positions = try ref.int32s("full_positions").map(Int.init)
        let full = try policy.logits(tokens: tokens, batch: 2, length: t, keyMask: keyMask, positions: positions)
        #expect(full.allSatisfy { $0.count == 28 })
        let err = relativeError(full.flatMap { $0 }, try ref.floats("logits_full"))
        #expect(err <= 1e-4, "whole-vocabulary logits: relative error \(err)")
    }

    @Test("SFT loss and every gradient match PyTorch to 1e-4")
    func sftLossAndGradients() throws {
        let policy = try Policy.load(directory: fixtureURL("policy_micro"))
        let ref = try Self.reference()
        let loss = try SFTLoss(policy: policy, layout: Self.layout, batch: 2)
        policy.model.grads.zero()
        let result = try loss.run(try Self.noisedBatch(policy, ref), backward: true)
        let refLoss = Double(try ref.floats("loss")[0])
        #expect(abs(result.loss - refLoss) / abs(refLoss) <= 1e-4, "loss \(result.loss) vs \(refLoss)")
        #expect(result.textMasked == 6 && result.imageMasked == 4)
        var checked = 0
        for e in policy.model.grads.layout.entries {
            let ours = Array(UnsafeBufferPointer(start: policy.model.grads[e.name], count: e.count))
            let err = relativeError(ours, try ref.floats("grad." + e.name))
            #expect(err <= 1e-4, "gradient of \(e.name): relative error \(err)")
            checked += 1
        }
        #expect(checked == 2 + 2 * 9 + 1)
    }

    @Test("BF16 shards load as the F32 weights rounded to BF16")
    func bf16Sharded() throws {
        let f32 = try Policy.load(directory: fixtureURL("policy_micro"))
        let bf16 = try Policy.load(directory: fixtureURL("policy_micro_bf16_sharded"))
        for e in f32.model.params.layout.entries {
            let a = UnsafeBufferPointer(start: f32.model.params[e.name], count: e.count).map {
                HalfFloat.float(bf16Bits: HalfFloat.bf16Bits($0))
            }
            let b = Array(UnsafeBufferPointer(start: bf16.model.params[e.name], count: e.count))
            #expect(a == b, "\(e.name)")
        }
    }

    @Test("loading is strict: missing, unexpected and misshapen tensors and unknown config keys are errors")
    func strictLoading() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("policy-strict-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let policy = try Policy.load(directory: fixtureURL("policy_micro"))
        try policy.save(directory: dir)
        let again = try Policy.load(directory: dir)
        #expect(Array(again.model.params.buffer) == Array(policy.model.params.buffer))

        // A missing tensor.
        var writer = SafetensorsWriter()
        for e in policy.model.params.layout.entries.dropLast() {
            try writer.add(e.name, shape: e.shape, floats: [Float](repeating: 0, count: e.count))
        }
        try writer.write(to: dir.appendingPathComponent("model.safetensors"))
        #expect(throws: ParaRLError.checkpointMismatch(path: dir.path, tensor: "model.transformer.ff_out.weight", reason: "missing")) {
            try Policy.load(directory: dir)
        }
        // An unexpected tensor.
        try writer.add("model.transformer.ff_out.weight", shape: [32, 16], floats: [Float](repeating: 0, count: 512))
        try writer.add("lm_head.bias", shape: [2], floats: [0, 0])
        try writer.write(to: dir.appendingPathComponent("model.safetensors"))
        #expect(throws: ParaRLError.checkpointMismatch(path: dir.path, tensor: "lm_head.bias", reason: "not a parameter of this model")) {
            try Policy.load(directory: dir)
        }
        // Unknown and architecture-changing config keys.
        let config = try String(contentsOf: dir.appendingPathComponent("config.json"), encoding: .utf8)
        let source = dir.appendingPathComponent("config.json").path
        #expect(throws: ParaRLError.unknownKey(file: "x.json", key: "frobnicate")) {
            try PolicyModelConfig.parse(Data(config.replacingOccurrences(of: "\"d_model\"", with: "\"frobnicate\": 1, \"d_model\"").utf8), source: "x.json")
        }
        #expect(throws: ParaRLError.self) {
            try PolicyModelConfig.parse(Data(config.replacingOccurrences(of: "\"weight_tying\" : false", with: "\"weight_tying\" : true").utf8), source: source)
        }
        #expect(throws: ParaRLError.self) {
            try PolicyModelConfig.parse(Data(config.replacingOccurrences(of: "\"n_kv_heads\" : 2", with: "\"n_kv_heads\" : 1").utf8), source: source)
        }
    }
}
