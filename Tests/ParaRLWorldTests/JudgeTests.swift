// The exact judge: references score 100 on every axis, outputs shuffled across tasks score low on image and
// output alignment, and a defect injected into one aspect lowers the axis it should and leaves the others.
import Foundation
import ParaRLCore
import ParaRLMedia
import Testing
import TestSupport
@testable import ParaRLWorld

@Suite struct JudgeTests {
    let judge = WorldJudge()
    let renderer = SceneRenderer()
    /// Every fourth eval task (75: 50 editing, 25 generation), to keep debug runs short.
    var tasks: [WorldTask] { stride(from: 0, to: 300, by: 4).map { worldSource.evalTasks[$0] } }

    func judgeAll(_ tasks: [WorldTask], reasoning: (Int) -> String, image: (Int) -> RGBImage) -> JudgeReport {
        JudgeReport(tasks.indices.map { i in judge.judge(JudgeReference(tasks[i]), reasoning: reasoning(i), image: image(i)) })
    }

    @Test func referencesScoreFullMarks() {
        let t = tasks
        let report = judgeAll(t, reasoning: { t[$0].reasoning }, image: { renderer.render(t[$0].targetScene) })
        for (axis, value) in report.overall.axes { #expect(value == 100, "\(axis) = \(String(describing: value))") }
        #expect(report.byKind.keys.sorted() == ["edit", "generate"])
        #expect(report.byCategory.count == 6)
        #expect(report.byKind["generate"]?.imageConsistency == nil)
    }

    @Test func shuffledImagesScoreLow() {
        let t = tasks
        var rng = RandomStream(seed: 3)
        let p = rng.permutation(t.count)
        var other = Array(t.indices)
        for i in p.indices { other[p[i]] = p[(i + 1) % p.count] }
        let report = judgeAll(t, reasoning: { t[$0].reasoning }, image: { renderer.render(t[other[$0]].targetScene) })
        #expect(report.overall.imageAlignment <= 30)
        #expect(report.overall.outputAlignment <= 30)
        #expect(report.overall.textAlignment == 100)  // the text is still the reference
        #expect(report.overall.imageQuality == 100)  // every image is still clean
    }

    @Test func wrongColourInTheTextLowersTextAndOutputAlignment() throws {
        let t = try #require(worldSource.evalTasks.first { $0.targetScene.objects.count >= 2 })
        let o = t.targetScene.objects[0]
        let wrong = WorldColor.allCases.first { $0 != o.color } ?? .red
        let changed = t.targetScene.replacing(at: o.position, with: SceneObject(color: wrong, shape: o.shape, size: o.size, position: o.position))
        let text = t.reasoning.replacingOccurrences(of: t.targetScene.statement, with: changed.statement)
        let s = judge.judge(JudgeReference(t), reasoning: text, image: renderer.render(t.targetScene)).scores
        #expect(s.textQuality == 100)
        #expect(s.textAlignment < 100 && s.textAlignment > 50)
        #expect(s.outputAlignment == s.textAlignment)
        #expect(s.imageAlignment == 100 && s.imageQuality == 100)
    }

    @Test func movedObjectInTheImageLowersImageAndOutputAlignment() throws {
        let t = try #require(worldSource.evalTasks.first { task in
            task.kind == .edit && task.targetScene.objects.contains { o in task.inputScene?.objects.contains(o) ?? false }
        })
        let kept = try #require(t.targetScene.objects.first { t.inputScene?.objects.contains($0) ?? false })
        let free = try #require(t.targetScene.freePositions.first)
        let moved = t.targetScene.moving(kept, to: free)
        let s = judge.judge(JudgeReference(t), reasoning: t.reasoning, image: renderer.render(moved)).scores
        #expect(s.imageAlignment < 100)
        #expect(s.outputAlignment < 100)
        #expect(try #require(s.imageConsistency) < 100)
        #expect(s.textQuality == 100 && s.textAlignment == 100 && s.imageQuality == 100)
    }

    @Test func noisePixelsLowerImageQualityOnly() {
        var rng = TestRNG(seed: 5)
        let t = Array(tasks.prefix(20))
        let report = judgeAll(t, reasoning: { t[$0].reasoning }, image: { i in
            var image = renderer.render(t[i].targetScene)
            for _ in 0..<60 { image[rng.int(32), rng.int(32)] = RGB(UInt8(rng.int(256)), UInt8(rng.int(256)), UInt8(rng.int(256))) }
            return image
        })
        #expect(report.overall.imageQuality < 97 && report.overall.imageQuality > 80)
        #expect(report.overall.imageAlignment == 100)
        #expect(report.overall.textQuality == 100 && report.overall.outputAlignment == 100)
    }

    @Test func garbledOrMissingTextLowersTextQuality() throws {
        let t = worldSource.evalTasks[0]
        let image = renderer.render(t.targetScene)
        let garbled = t.reasoning.replacingOccurrences(of: " the ", with: " the the ")
        let g = judge.judge(JudgeReference(t), reasoning: garbled, image: image).scores
        #expect(g.textQuality < 100 && g.textQuality >= 50)
        #expect(g.textAlignment == 100)  // the final statement is still intact
        let none = judge.judge(JudgeReference(t), reasoning: "red red blue ; ; final", image: image).scores
        #expect(none.textQuality == 0 && none.textAlignment == 0 && none.outputAlignment == 0)
        #expect(none.imageAlignment == 100)
        // The plan is found even when something follows the final statement.
        let trailing = judge.judge(JudgeReference(t), reasoning: t.reasoning + " and more", image: image).scores
        #expect(trailing.textAlignment == 100 && trailing.textQuality < 100)
    }

    @Test func similarityIsOneOnlyForEqualScenesAndCountsCells() {
        var rng = TestRNG(seed: 9)
        for _ in 0..<100 {
            let a = randomScene(&rng), b = randomScene(&rng)
            #expect(WorldJudge.similarity(a, a) == 1)
            #expect((WorldJudge.similarity(a, b) == 1) == (a == b))
            #expect(WorldJudge.similarity(a, b) == WorldJudge.similarity(b, a))
        }
        let red = SceneObject(color: .red, shape: .circle, size: .small, position: GridPosition(index: 0))
        var blue = red
        blue.color = .blue
        let a = Scene(background: .day, objects: [red]), b = Scene(background: .day, objects: [blue])
        #expect(abs(WorldJudge.similarity(a, b) - (1 + 2.0 / 3) / 2) < 1e-12)
        #expect(WorldJudge.similarity(a, Scene(background: .night, objects: [])) == 0)
    }

    @Test func consistencyCountsWhatShouldStay() {
        let o1 = SceneObject(color: .red, shape: .circle, size: .small, position: GridPosition(index: 0))
        let o2 = SceneObject(color: .blue, shape: .ring, size: .large, position: GridPosition(index: 4))
        let input = Scene(background: .day, objects: [o1, o2])
        let target = input.replacing(at: o2.position, with: nil)  // remove o2: o1 and the background stay
        #expect(WorldJudge.consistency(input: input, target: target, output: target) == 100)
        #expect(WorldJudge.consistency(input: input, target: target, output: input) == 100)  // o2 left in: not a consistency fault
        #expect(WorldJudge.consistency(input: input, target: target, output: Scene(background: .day, objects: [])) == 50)
        #expect(WorldJudge.consistency(input: input, target: target, output: Scene(background: .night, objects: [])) == 0)
    }

    @Test func vqReconstructionKeepsTheJudgeScores() throws {
        // A 512-code patch VQ fitted on training images reconstructs eval images well enough for the judge.
        let images = worldSource.trainTasks(0..<150).flatMap { t in [t.inputScene, t.targetScene].compactMap { $0 }.map(renderer.render) }
        let vq = try PatchVQ.fit(images: images, patchSize: 4, codebookSize: 512, iterations: 10, seed: 0).tokenizer
        let t = tasks
        let report = judgeAll(t, reasoning: { t[$0].reasoning }, image: { (try? vq.reconstruct(renderer.render(t[$0].targetScene))) ?? RGBImage(width: 32, height: 32) })
        #expect(report.overall.imageQuality >= 95)
        #expect(report.overall.imageAlignment >= 99)
    }

    @Test func reportAggregatesPerCategoryAndKind() throws {
        let scores = [
            JudgeScores(textQuality: 100, textAlignment: 50, imageQuality: 100, imageAlignment: 0, imageConsistency: 80, outputAlignment: 0),
            JudgeScores(textQuality: 0, textAlignment: 50, imageQuality: 100, imageAlignment: 100, imageConsistency: nil, outputAlignment: 100),
        ]
        let m = JudgeScores.mean(scores)
        #expect(m.textQuality == 50 && m.imageAlignment == 50 && m.imageConsistency == 80)
        #expect(abs(m.overall - (50 + 50 + 100 + 50 + 80 + 50) / 6) < 1e-9)
        #expect(abs(scores[1].overall - 70) < 1e-9)
        let data = try JSONEncoder().encode(JudgeReport([]))
        let text = String(decoding: data, as: UTF8.self)
        #expect(text.contains("\"by_category\"") && text.contains("\"text_quality\""))
    }
}
