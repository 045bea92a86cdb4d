// Parity of the Swift CLIP with transformers.CLIPModel (fixtures from tools/fixtures/make_clip_fixtures.py),
// through HF and OpenAI key names, and strict loading.
import Foundation
import ParaRLCLIP
import ParaRLCore
import Testing
import TestSupport

@Suite("CLIP model")
struct CLIPModelTests {
    struct Reference {
        let ids: [Int32], b: Int, t: Int, pixels: [Float], images: Int
        let textFeatures: [Float], imageFeatures: [Float], textEmbeds: [Float], imageEmbeds: [Float], logits: [Float]
    }

    static func reference(_ name: String) throws -> Reference {
        let file = try SafetensorsFile.read(url: fixtureURL("clip_\(name)_io.safetensors"))
        let idShape = try file.shape("input_ids"), pixShape = try file.shape("pixel_values")
        return Reference(ids: try file.int64s("input_ids").map { Int32($0) }, b: idShape[0], t: idShape[1],
                         pixels: try file.floats("pixel_values"), images: pixShape[0],
                         textFeatures: try file.floats("text_features"), imageFeatures: try file.floats("image_features"),
                         textEmbeds: try file.floats("text_embeds"), imageEmbeds: try file.floats("image_embeds"),
                         logits: try file.floats("logits_per_text"))
    }

    @Test("matches transformers.CLIPModel", arguments: ["a", "b", "c"], ["hf", "openai"])
    func parity(config: String, naming: String) throws {
        let model = try CLIPModel.load(directory: fixtureURL("clip_\(config)_\(naming)"))
        let ref = try Self.reference(config)
        let p = model.config.projectionDim
        let text = try model.textForward(ids: ref.ids, b: ref.b, t: ref.t)
        let image = try model.visionForward(pixels: ref.pixels, b: ref.images)
        let textFeatures = Array(UnsafeBufferPointer(start: text.features, count: ref.b * p))
        let imageFeatures = Array(UnsafeBufferPointer(start: image.features, count: ref.images * p))
        #expect(relativeError(textFeatures, ref.textFeatures) <= 1e-4)
        #expect(relativeError(imageFeatures, ref.imageFeatures) <= 1e-4)
        let out = try model.embed(ids: ref.ids, b: ref.b, t: ref.t, pixels: ref.pixels, images: ref.images)
        let errors = [relativeError(out.textEmbeds, ref.textEmbeds), relativeError(out.imageEmbeds, ref.imageEmbeds),
                      relativeError(out.logitsPerText, ref.logits)]
        print("CLIP parity \(config)/\(naming): text \(errors[0]) image \(errors[1]) logits \(errors[2])")
        #expect(errors.allSatisfy { $0 <= 1e-4 })
    }

    @Test("pooling: first EOS, or argmax of ids for the legacy eos_token_id 2")
    func pooling() throws {
        var config = CLIPConfig(projectionDim: 4)
        config.textConfig = CLIPTextConfig()
        config.textConfig.eosTokenId = 5
        let model = try CLIPModel(config: Self.tiny(eos: 5))
        #expect(model.pooledPositions(ids: [1, 3, 5, 9, 5, 0], b: 2, t: 3) == [2, 1])
        let legacy = try CLIPModel(config: Self.tiny(eos: 2))
        #expect(legacy.pooledPositions(ids: [1, 9, 5, 9, 0, 0], b: 2, t: 3) == [1, 0])
    }

    static func tiny(eos: Int = 9, layers: Int = 1) -> CLIPConfig {
        var t = CLIPTextConfig()
        t.vocabSize = 12; t.hiddenSize = 8; t.intermediateSize = 12; t.numHiddenLayers = layers; t.numAttentionHeads = 2
        t.maxPositionEmbeddings = 6; t.eosTokenId = eos; t.bosTokenId = 10
        var v = CLIPVisionConfig()
        v.hiddenSize = 8; v.intermediateSize = 12; v.numHiddenLayers = layers; v.numAttentionHeads = 2
        v.imageSize = 4; v.patchSize = 2; v.hiddenAct = .gelu
        return CLIPConfig(textConfig: t, visionConfig: v, projectionDim: 4)
    }

    /// Copies a fixture folder to a temporary one with its tensors changed by `edit`.
    static func edited(_ name: String, _ edit: (inout [(String, [Int], [Float])]) -> Void) throws -> URL {
        let source = fixtureURL(name)
        let file = try SafetensorsFile.read(url: source.appendingPathComponent("model.safetensors"))
        var tensors = try file.tensorNames.map { ($0, try file.shape($0), try file.floats($0)) }
        edit(&tensors)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("clip-strict-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: source.appendingPathComponent("config.json"), to: dir.appendingPathComponent("config.json"))
        var writer = SafetensorsWriter()
        for (n, s, v) in tensors { try writer.add(n, shape: s, floats: v) }
        try writer.write(to: dir.appendingPathComponent("model.safetensors"))
        return dir
    }

    @Test("strict loading: missing, unused and wrong-shape tensors are errors naming the key")
    func strictLoading() throws {
        let missing = try Self.edited("clip_a_hf") { $0.removeAll { $0.0 == "text_projection.weight" } }
        #expect { try CLIPModel.load(directory: missing) } throws: { error in
            guard case CLIPError.missingTensor(_, let t)? = error as? CLIPError else { return false }
            return t == "text_projection.weight"
        }
        let unused = try Self.edited("clip_a_hf") { $0.append(("extra.weight", [2], [1, 2])) }
        #expect { try CLIPModel.load(directory: unused) } throws: { error in
            guard case CLIPError.unusedTensor(_, let t)? = error as? CLIPError else { return false }
            return t == "extra.weight"
        }
        let wrong = try Self.edited("clip_a_openai") { ts in
            if let i = ts.firstIndex(where: { $0.0 == "visual.proj" }) { ts[i].1 = [ts[i].1[1], ts[i].1[0]] }
        }
        #expect { try CLIPModel.load(directory: wrong) } throws: { error in
            guard case CLIPError.wrongShape(_, let t, _, _)? = error as? CLIPError else { return false }
            return t == "visual.proj"
        }
        for dir in [missing, unused, wrong] { try? FileManager.default.removeItem(at: dir) }
    }

    @Test("save then load round-trips every parameter in HF layout")
    func saveLoad() throws {
        let model = try CLIPModel.load(directory: fixtureURL("clip_b_openai"))
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("clip-save-\(UUID().uuidString)")
        try model.save(directory: dir)
        let again = try CLIPModel.load(directory: dir)
        #expect(again.config == model.config)
        #expect(Array(again.params.buffer) == Array(model.params.buffer))
        try? FileManager.default.removeItem(at: dir)
    }
}
