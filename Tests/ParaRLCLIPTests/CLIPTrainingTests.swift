// The world CLIP's data, config, reward and a few training steps on a micro model.
import Foundation
@testable import ParaRLCLIP
import ParaRLCore
import ParaRLRunKit
import ParaRLWorld
import Testing
import TestSupport

@Suite("CLIP training")
struct CLIPTrainingTests {
    @Test("hard negatives change exactly one attribute")
    func hardNegatives() throws {
        let source = WorldTaskSource(seed: 0)
        var rng = RandomStream(seed: 1)
        for i in 0..<40 {
            let scene = source.trainTask(index: i).targetScene
            for kind in CLIPHardNegativeKind.allCases {
                guard let neg = CLIPWorldData.hardNegative(of: scene, kind: kind, rng: &rng) else { continue }
                #expect(neg != scene)
                #expect(neg.background == scene.background)
                switch kind {
                case .count: #expect(abs(neg.objects.count - scene.objects.count) == 1)
                case .position:
                    #expect(neg.objects.map(\.phrase).sorted() == scene.objects.map(\.phrase).sorted())
                case .color, .shape:
                    #expect(neg.objects.map(\.position) == scene.objects.map(\.position))
                    #expect(zip(neg.objects, scene.objects).filter { $0 != $1 }.count == 1)
                }
            }
        }
    }

    @Test("hard_negatives k: each anchor brings k negatives of different attributes, with the anchor's text form and cut")
    func hardNegativesPerAnchor() throws {
        let tokenizer = try #require(sharedTokenizer, "run tools/setup.sh to fetch the BPE vocabulary")
        for k in [1, 3, 4] {
            var config = try CLIPTrainConfig.parse(yaml: """
                batch_size: 6
                hard_negatives: \(k)
                model: {vision_width: 16, vision_layers: 1, vision_heads: 2, text_width: 16, text_layers: 1, text_heads: 2,
                        patch_size: 8, projection_dim: 8, mlp_ratio: 2}
                """, path: "(test)")
            config.captionShare = 1; config.reasoningShare = 0
            let trainer = try CLIPTrainer(config: config, tokenizer: tokenizer)
            let (texts, images, anchors) = trainer.batch()
            #expect(anchors.count == 6 && images.count == texts.count)
            let bounds = anchors + [texts.count]
            #expect(zip(bounds, bounds.dropFirst()).filter { $1 - $0 == 1 + k }.count >= 5)  // nearly every scene allows k
            for a in 0..<6 {
                let group = bounds[a]..<bounds[a + 1]
                let anchor = try Scene(statement: texts[group.lowerBound])
                var kinds: Set<String> = []
                for i in group.dropFirst() {
                    let negative = try Scene(statement: texts[i])
                    #expect(negative != anchor && images[i] != images[group.lowerBound])
                    if negative.objects.count != anchor.objects.count { kinds.insert("count") }
                    else if negative.objects.map(\.position) != anchor.objects.map(\.position) { kinds.insert("position") }
                    else if zip(negative.objects, anchor.objects).contains(where: { $0.color != $1.color }) { kinds.insert("color") }
                    else { kinds.insert("shape") }
                }
                #expect(kinds.count == group.count - 1 && kinds.count <= k, "anchor \(a): negatives of \(kinds.sorted()) for k = \(k)")
            }
        }
        for bad in [0, 5] {
            #expect(throws: ParaRLError.self) { try CLIPTrainConfig.parse(yaml: "hard_negatives: \(bad)\n", path: "z.yaml") }
        }
        // Partial traces are cut past the first word that tells the anchor from each negative: an anchor and a
        // negative never share a text (that would teach the towers to ignore the changed attribute).
        var config = try CLIPTrainConfig.parse(yaml: """
            batch_size: 64
            hard_negatives: 4
            model: {vision_width: 16, vision_layers: 1, vision_heads: 2, text_width: 16, text_layers: 1, text_heads: 2,
                    patch_size: 8, projection_dim: 8, mlp_ratio: 2}
            """, path: "(test)")
        config.captionShare = 0; config.reasoningShare = 0
        let (texts, _, anchors) = try CLIPTrainer(config: config, tokenizer: tokenizer).batch()
        #expect(texts.count > 64 * 4)
        #expect(texts.filter { !$0.contains("; background") }.count > 20)  // many cuts end inside the statement
        let bounds = anchors + [texts.count]
        for a in 0..<64 {
            let group = Array(texts[bounds[a]..<bounds[a + 1]])
            for negative in group.dropFirst() { #expect(negative != group[0], "anchor \(a): \(group[0])") }
        }
        // The control: without the minimum, the same cut often gives anchor and negative the same text.
        let source = WorldTaskSource(seed: 0)
        var rng = RandomStream(seed: 9)
        var clashes = (unguarded: 0, guarded: 0)
        for i in 0..<200 {
            let task = source.trainTask(index: i)
            guard let negative = CLIPWorldData.hardNegative(of: task.targetScene, kind: .position, rng: &rng) else { continue }
            let minimum = CLIPWorldData.distinguishingWords(task: task, scene: task.targetScene, negatives: [negative])
            for words in [0, minimum] {
                let cut = rng.split(i)
                var a = cut, b = cut
                let same = CLIPWorldData.text(.partialReasoning, task: task, scene: task.targetScene, minimumWords: words, rng: &a)
                    == CLIPWorldData.text(.partialReasoning, task: task, scene: negative, minimumWords: words, rng: &b)
                if same { if words == 0 { clashes.unguarded += 1 } else { clashes.guarded += 1 } }
            }
        }
        #expect(clashes.unguarded > 10 && clashes.guarded == 0, "\(clashes)")
    }

    @Test("unknown config keys are errors naming the key and file; the shipped config loads")
    func config() throws {
        #expect { try CLIPTrainConfig.parse(yaml: "steps: 3\nbogus: 1\n", path: "x.yaml") } throws: { error in
            (error as? ParaRLError) == .unknownKey(file: "x.yaml", key: "bogus", line: 2)
        }
        #expect { try CLIPTrainConfig.parse(yaml: "model:\n  text_widht: 8\n", path: "y.yaml") } throws: { error in
            (error as? ParaRLError) == .unknownKey(file: "y.yaml", key: "model.text_widht", line: 2)
        }
        #expect(throws: ParaRLError.invalidConfig(file: "z.yaml", key: "hard_negatives", reason: "must be between 1 and 4 (one per attribute)", line: 1)) {
            try CLIPTrainConfig.parse(yaml: "hard_negatives: 9\n", path: "z.yaml")
        }
        let shipped = try CLIPTrainConfig.load(url: repositoryRoot().appendingPathComponent("rl-configs/clip-tiny.yaml"))
        #expect(shipped.model.contextLength == 96 && shipped.batchSize == 32)
    }

    @Test("a few training steps on a micro model run, lower the loss and save a loadable HF folder")
    func trainSteps() throws {
        let tokenizer = try #require(sharedTokenizer, "run tools/setup.sh to fetch the BPE vocabulary")
        var config = try CLIPTrainConfig.parse(yaml: """
            steps: 12
            batch_size: 4
            train_tasks: 4
            warmup_steps: 0
            learning_rate: 3.0e-3
            eval_scenes: 6
            model: {vision_width: 16, vision_layers: 1, vision_heads: 2, text_width: 16, text_layers: 1, text_heads: 2,
                    patch_size: 8, projection_dim: 8, mlp_ratio: 2}
            """, path: "(test)")
        config.captionShare = 1
        config.reasoningShare = 0
        let trainer = try CLIPTrainer(config: config, tokenizer: tokenizer)
        var losses: [Double] = []
        for step in 0..<config.steps { losses.append(try trainer.step(index: step).loss) }
        #expect(losses.allSatisfy { $0.isFinite })
        #expect(losses.suffix(3).reduce(0, +) < losses.prefix(3).reduce(0, +))
        let evaluation = try trainer.evaluate()
        #expect(evaluation.scenes == 6 && (0...1).contains(evaluation.hardNegativeWinRate))
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("clip-train-\(UUID().uuidString)")
        try trainer.model.save(directory: dir)
        let loaded = try CLIPModel.load(directory: dir)
        #expect(Array(loaded.params.buffer) == Array(trainer.model.params.buffer))
        try? FileManager.default.removeItem(at: dir)
    }
}
