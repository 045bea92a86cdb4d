// The shipped models (models/README.md): models/world-policy and models/world-clip load with the strict loaders and
// reproduce the stored numbers of tools/models/make_check.sh — the judge's six axes and the reasoning of 3 evaluation
// tasks sampled with the shipped sampler config and seed 0 (to the 3 decimals stored), and the CLIP scores of those
// outputs. A truncated copy of either weights file is an error naming the file.
import Foundation
import Testing
import ParaRLCLIP
import ParaRLCore
import ParaRLSampling
import ParaRLWorld

@Suite("Shipped models")
struct ShippedModelTests {
    static let root = MicroFixture.repositoryRoot()
    static let policy = root.appendingPathComponent("models/world-policy")
    static let clip = root.appendingPathComponent("models/world-clip")
    static let check = root.appendingPathComponent("Tests/ParaRLTrainerTests/Fixtures/shipped-check")

    struct Judged: Decodable {
        var id: String
        var text_quality: Double, text_alignment: Double, image_quality: Double, image_alignment: Double
        var image_consistency: Double?, output_alignment: Double, overall: Double
    }
    struct Prediction: Decodable { var id: String; var reasoning: String }
    struct Score: Decodable { var index: Int; var score: Float }

    static func lines<T: Decodable>(_ name: String, as type: T.Type) throws -> [T] {
        try String(contentsOf: check.appendingPathComponent(name), encoding: .utf8).split(separator: "\n")
            .map { try JSONDecoder().decode(T.self, from: Data($0.utf8)) }
    }

    @Test("the shipped policy reproduces the stored reasoning and judge numbers; the shipped CLIP their scores")
    func reproducesStoredNumbers() throws {
        let bundle = try PolicyBundle.load(checkpoint: Self.policy)
        let sampler = try SamplerConfig.load(Self.root.appendingPathComponent("rl-configs/sample-tiny.yaml"))
        let judged = try Self.lines("judgements.jsonl", as: Judged.self)
        let predicted = try Self.lines("predictions.jsonl", as: Prediction.self)
        #expect(judged.count == 3 && predicted.map(\.id) == judged.map(\.id))
        let tasks = PolicyEvaluator.evalTasks(worldSeed: 0, limit: 3)
        #expect(tasks.map(\.id) == judged.map(\.id))
        let result = try PolicyEvaluator(bundle: bundle, config: sampler, batchSize: 8).evaluate(tasks, seed: 0)
        func f(_ x: Double?) -> String { x.map { String(format: "%.3f", $0) } ?? "null" }
        for (t, (j, p)) in zip(result.tasks, zip(judged, predicted)) {
            #expect(t.reasoning == p.reasoning, "\(t.task.id): the reasoning differs")
            let s = t.judgement.scores
            #expect([s.textQuality, s.textAlignment, s.imageQuality, s.imageAlignment, s.imageConsistency, s.outputAlignment, s.overall].map(f)
                    == [j.text_quality, j.text_alignment, j.image_quality, j.image_alignment, j.image_consistency, j.output_alignment, j.overall].map(f),
                    "\(t.task.id): judge numbers differ")
        }
        let scorer = CLIPScorer(model: try CLIPModel.load(directory: Self.clip),
                                tokenizer: try CLIPTokenizer(vocabularyURL: MicroFixture.shared.get().vocabulary))
        let scores = try scorer.scores(texts: result.tasks.map(\.reasoning), images: result.tasks.map(\.image))
        let stored = try Self.lines("clip_scores.jsonl", as: Score.self)
        #expect(stored.count == scores.count)
        for (s, x) in zip(stored, scores) { #expect(abs(s.score - x) <= 1e-3, "pair \(s.index): \(x) vs stored \(s.score)") }
    }

    @Test("a truncated shipped weights file is an error naming it")
    func strictLoading() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pararl-shipped-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        for (source, name) in [(Self.policy, "policy"), (Self.clip, "clip")] {
            let copy = dir.appendingPathComponent(name)
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            try FileManager.default.copyItem(at: source, to: copy)
            let weights = copy.appendingPathComponent("model.safetensors")
            let data = try Data(contentsOf: weights)
            try data.prefix(data.count / 2).write(to: weights)
            do {
                if name == "policy" { _ = try PolicyBundle.load(checkpoint: copy) } else { _ = try CLIPModel.load(directory: copy) }
                Issue.record("a truncated \(name) loaded")
            } catch {
                #expect("\(error)".contains("model.safetensors"), "\(error)")
            }
        }
    }
}
