// The exact world reward on hand-made partial states: the correct statement and image score highest (and exactly the
// judge's output alignment on complete outputs), one wrong colour scores less, nothing stated yet is 0 (defined),
// and the lenient reading of a partial statement counts the objects stated so far.
import Foundation
import ParaRLMedia
import Testing
@testable import ParaRLWorld

@Suite("World reward")
struct WorldAlignmentTests {
    let alignment = WorldAlignment()
    let renderer = SceneRenderer()
    let judge = WorldJudge()

    /// An evaluation task with at least two objects (so partial statements have something to leave out).
    func task() throws -> WorldTask { try #require(worldSource.evalTasks.first { $0.targetScene.objects.count >= 2 }) }

    @Test("the correct statement and image score 100, exactly the judge's output alignment; a wrong colour scores less")
    func completeOutputs() throws {
        let t = try task()
        let image = renderer.render(t.targetScene)
        let correct = alignment.score(text: t.reasoning, image: image)
        #expect(correct == 100)
        let o = t.targetScene.objects[0]
        let wrong = WorldColor.allCases.first { $0 != o.color } ?? .red
        let changed = t.targetScene.replacing(at: o.position, with: SceneObject(color: wrong, shape: o.shape, size: o.size, position: o.position))
        let text = t.reasoning.replacingOccurrences(of: t.targetScene.statement, with: changed.statement)
        let lower = alignment.score(text: text, image: image)
        #expect(lower < correct && lower > 50)
        #expect(lower == judge.judge(JudgeReference(t), reasoning: text, image: image).scores.outputAlignment)
        // Over many tasks, shuffled images and broken statements, a complete output scores the judge's output alignment.
        for (i, u) in worldSource.evalTasks.prefix(40).enumerated() {
            let other = renderer.render(worldSource.evalTasks[(i * 37 + 5) % 300].targetScene)
            for text in [u.reasoning, u.reasoning.replacingOccurrences(of: " at ", with: " "), String(u.reasoning.dropLast(12))] {
                let s = judge.judge(JudgeReference(u), reasoning: text, image: other).scores.outputAlignment
                #expect(alignment.score(text: text, image: other, complete: true) == s, "\(u.id): \(text)")
            }
        }
    }

    @Test("a statement that does not parse scores 0 as a complete output, and its stated objects as a partial one")
    func completeIsStrict() throws {
        let t = try task()
        let image = renderer.render(t.targetScene)
        let cut = "final scene: " + t.targetScene.objects[0].statement
        #expect(alignment.score(text: cut, image: image, complete: true) == 0)
        #expect(alignment.score(text: cut, image: image) > 0)
        #expect(alignment.scores(texts: [cut, cut], images: [image, image], complete: [true]) == [0, Float(alignment.score(text: cut, image: image))])
    }

    @Test("nothing stated yet scores 0, never NaN; an empty text too")
    func nothingStated() throws {
        let t = try task()
        let image = renderer.render(t.targetScene)
        for text in ["", "the background is day now .", "each object keeps its column but changes rows"] {
            let s = alignment.score(text: text, image: image)
            #expect(s == 0 && !s.isNaN, "\(text): \(s)")
            #expect(WorldAlignment.statedScene(text) == .nothing)
        }
    }

    @Test("a statement revealed item by item scores more with every correct item stated")
    func partialStatementsRise() throws {
        let t = try task()
        let image = renderer.render(t.targetScene)
        let items = t.targetScene.objects.map(\.statement)
        var previous = -1.0
        for k in 1...items.count {
            let text = "final scene: " + items.prefix(k).joined(separator: ", ")
            let stated = WorldAlignment.statedScene(text)
            #expect(stated.objects.count == k && stated.background == nil, "\(text)")
            let s = alignment.score(text: text, image: image)
            #expect(s > previous, "\(k) items: \(s) after \(previous)")
            previous = s
        }
        let complete = alignment.score(text: "final scene: " + items.joined(separator: ", ") + "; background \(t.targetScene.background.rawValue)",
                                       image: image)
        #expect(complete == 100 && complete > previous)
    }

    @Test("dropped words (masks) are read leniently: missing commas, 'at' and ':'; a missing attribute costs its third")
    func lenientReading() {
        let stated = WorldAlignment.statedScene("final scene a red small circle top left a blue large square at center background night")
        #expect(stated == StatedScene(background: .night, objects: [
            StatedObject(position: GridPosition(name: "top left")!, color: .red, size: .small, shape: .circle),
            StatedObject(position: GridPosition(name: "center")!, color: .blue, size: .large, shape: .square),
        ]))
        let scene = Scene(background: .day, objects: [SceneObject(color: .red, shape: .circle, size: .small, position: GridPosition(name: "top left")!)])
        let full = WorldAlignment.statedScene("final scene: a red small circle at top left")
        let noSize = WorldAlignment.statedScene("final scene: a red circle at top left")
        #expect(WorldAlignment.similarity(full, scene) == 1.0 / 2)       // background unstated, the cell right
        #expect(WorldAlignment.similarity(noSize, scene) == (2.0 / 3) / 2)
        // A second item at a taken cell is ignored; an item without a position states nothing; reading stops at ".".
        let twice = WorldAlignment.statedScene("final scene: a red small circle at top left, a blue large square at top left, a green small ring. a red small cross at center")
        #expect(twice.objects.count == 1 && twice.objects[0].color == .red)
        // The last "final scene" is the one read.
        let last = WorldAlignment.statedScene("final scene: a red small circle at top left. then final scene: a blue small circle at center")
        #expect(last.objects.map(\.color) == [.blue])
    }

    @Test("a complete scene's stated form has the judge's similarity")
    func similarityMatchesTheJudge() {
        for (a, b) in zip(worldSource.evalTasks.prefix(30), worldSource.evalTasks.dropFirst(7).prefix(30)) {
            #expect(WorldAlignment.similarity(StatedScene(a.targetScene), b.targetScene) == WorldJudge.similarity(a.targetScene, b.targetScene))
        }
    }
}
