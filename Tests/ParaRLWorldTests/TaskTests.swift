// The task generator and splits: fixed eval counts, determinism, reasoning that parses under the grammar and
// states the target, held-out combinations, and the world rules each task type must follow.
import Foundation
import ParaRLCore
import ParaRLMedia
import Testing
import TestSupport
@testable import ParaRLWorld

/// One world for the whole test run (building the eval split takes a moment in debug builds).
let worldSource = WorldTaskSource(seed: 0)

@Suite struct TaskTests {
    @Test func evalSplitHasTheParaBenchCounts() {
        let tasks = worldSource.evalTasks
        #expect(tasks.count == 300)
        let counts = Dictionary(grouping: tasks, by: \.category).mapValues(\.count)
        #expect(counts == [.spatial: 40, .temporal: 40, .causal: 40, .worldKnowledge: 40, .general: 40, .generation: 100])
        #expect(Set(tasks.map(\.id)).count == 300)
        #expect(tasks.first?.id == "eval-spatial-000" && tasks.last?.id == "eval-generation-099")
        for t in tasks {
            #expect((t.inputScene != nil) == (t.kind == .edit))
            #expect(t.targetScene.objects.count <= Scene.maxObjects)
            if t.kind == .generate { #expect(!t.targetScene.objects.isEmpty) }
            if let input = t.inputScene { #expect(input != t.targetScene, "\(t.id) changes nothing") }
        }
    }

    @Test func sameSeedSameTasksOtherSeedOtherTasks() {
        let again = WorldTaskSource(seed: 0)
        #expect(again.evalTasks == worldSource.evalTasks)
        #expect(again.trainTasks(0..<20) == worldSource.trainTasks(0..<20))
        #expect(worldSource.trainTask(index: 7) == worldSource.trainTasks(5..<10)[2])
        let other = WorldTaskSource(seed: 1)
        let same = zip(other.evalTasks, worldSource.evalTasks).filter { $0.0 == $0.1 }.count
        #expect(same < 5)
        #expect(worldSource.task(id: "eval-causal-003") == worldSource.evalTasks[83])
        #expect(worldSource.task(id: "train-000012") == worldSource.trainTask(index: 12))
        #expect(worldSource.task(id: "train-12") == nil && worldSource.task(id: "nope") == nil)
    }

    @Test func reasoningParsesUnderTheGrammarAndEndsWithTheTarget() {
        let tasks = worldSource.evalTasks + worldSource.trainTasks(0..<300)
        var words: [Int] = []
        for t in tasks {
            #expect(t.reasoning.hasSuffix(t.targetScene.statement), "\(t.id)")
            let read = WorldJudge.readReasoning(t.reasoning)
            #expect(read.quality == 100, "\(t.id): \(t.reasoning)")
            #expect(read.plan == t.targetScene, "\(t.id)")
            words.append(t.reasoning.split(separator: " ").count)
        }
        #expect(words.min() ?? 0 >= 20)
        #expect(words.max() ?? 0 <= 80)
        let mean = Double(words.reduce(0, +)) / Double(words.count)
        #expect(mean > 30 && mean < 60)
    }

    @Test func everyGeneratedWordIsInTheVocabulary() {
        let tokenizer = TextTokenizer.world()
        #expect(tokenizer.count > 150 && tokenizer.count < 600)
        for t in worldSource.evalTasks + worldSource.trainTasks(0..<200) {
            for text in [t.instruction, t.reasoning] {
                let ids = tokenizer.encode(text)
                #expect(!ids.contains(tokenizer.unknownID), "\(t.id): unknown word in \"\(text)\"")
                #expect(tokenizer.decode(ids) == text)
            }
        }
    }

    @Test func everyTemplateIsUsedAndTheInstructionDoesNotStateTheAnswer() {
        // Targets are never readable off the instruction: its words never contain the target statement.
        for t in worldSource.evalTasks {
            #expect(!t.instruction.contains(t.targetScene.body))
            #expect(t.instruction != t.reasoning)
        }
        // Every reasoning sentence the eval and train tasks use comes from a different template than the
        // canonical statement, and the phrasing varies: at least two distinct first sentences per category.
        let firstSentences = Dictionary(grouping: worldSource.evalTasks, by: \.category)
            .mapValues { Set($0.map { String($0.reasoning.prefix { $0 != "." }) }).count }
        for (c, n) in firstSentences { #expect(n >= 5, "\(c) has \(n) distinct opening sentences") }
    }

    @Test func heldOutCombinationsAreOnlyInEvaluation() {
        let train = worldSource.trainTasks(0..<400)
        #expect(!train.contains(where: WorldTaskSource.involvesHeldOut))
        for combo in WorldTaskSource.heldOut {
            let inEval = worldSource.evalTasks.filter { $0.allObjects.contains(where: combo.matches) }.count
            #expect(inEval >= 3, "held-out \(combo) appears \(inEval) times in eval")
        }
        let evalKeys = Set(worldSource.evalTasks.map { $0.instruction + ($0.inputScene?.body ?? "") })
        #expect(!train.contains { evalKeys.contains($0.instruction + ($0.inputScene?.body ?? "")) })
        let categories = Dictionary(grouping: train, by: \.category).mapValues(\.count)
        #expect(categories[.generation] ?? 0 > 90 && categories[.generation] ?? 0 < 180)
    }
}

/// The world's rules, checked on many draws of each task type.
@Suite struct WorldRuleTests {
    func draws(_ label: String, count n: Int = 150, _ make: (inout TaskDraw) -> Draft?) -> [Draft] {
        var out: [Draft] = []
        var draw = TaskDraw(rng: RandomStream(seed: 11).split(label))
        for _ in 0..<n { if let d = make(&draw) { out.append(d) } }
        #expect(out.count > 10, "\(label) applied only \(out.count) times")
        return out
    }

    /// The objects that differ between input and target: (removed from input, added in target).
    func diff(_ d: Draft) -> (gone: [SceneObject], new: [SceneObject]) {
        let input = d.input?.objects ?? []
        return (input.filter { !d.target.objects.contains($0) }, d.target.objects.filter { !input.contains($0) })
    }

    @Test func fallingObjectsLandOnTheFloorOrOnAnObject() throws {
        for d in draws("fall", { $0.fall() }) {
            let (gone, new) = diff(d)
            try #require(gone.count == 1 && new.count == 1)
            let from = gone[0], to = new[0]
            #expect(to.position.column == from.position.column && to.position.row > from.position.row)
            #expect(to.color == from.color && to.shape == from.shape && to.size == from.size)
            if let below = to.position.offset(rows: 1, columns: 0) { #expect(d.target.object(at: below) != nil) }
            for r in (from.position.row + 1)..<to.position.row {
                #expect(d.input?.isFree(GridPosition(row: r, column: from.position.column)) ?? false)
            }
        }
    }

    @Test func balloonsRiseToTheTopOrUnderAnObject() throws {
        for d in draws("rise", { $0.rise() }) {
            let (gone, new) = diff(d)
            try #require(gone.count == 1 && new.count == 1)
            #expect(new[0].position.column == gone[0].position.column && new[0].position.row < gone[0].position.row)
            if let above = new[0].position.offset(rows: -1, columns: 0) { #expect(d.target.object(at: above) != nil) }
        }
    }

    @Test func pushesMoveOneCellAwayFromThePush() throws {
        for d in draws("push", { $0.push() }) {
            let (gone, new) = diff(d)
            try #require(gone.count == 1 && new.count == 1)
            let dr = new[0].position.row - gone[0].position.row, dc = new[0].position.column - gone[0].position.column
            #expect(abs(dr) + abs(dc) == 1)
            let expected = dr == 1 ? "from above" : dr == -1 ? "from below" : dc == 1 ? "from the left" : "from the right"
            #expect(d.instruction.contains(expected), "\(d.instruction)")
        }
    }

    @Test func rollingObjectsStopAtTheEdgeOrAnObstacle() throws {
        for d in draws("roll", { $0.roll() }) {
            let (gone, new) = diff(d)
            try #require(gone.count == 1 && new.count == 1)
            #expect(new[0].position.row == gone[0].position.row)
            let step = new[0].position.column > gone[0].position.column ? 1 : -1
            if let next = new[0].position.offset(rows: 0, columns: step) { #expect(d.target.object(at: next) != nil) }
        }
    }

    @Test func mirrorsKeepTheRowOrColumn() {
        for d in draws("mirror", { $0.mirror() }) {
            guard let input = d.input else { continue }
            #expect(input.objects.count == d.target.objects.count)
            let sides = d.instruction.contains("left to right")
            for o in input.objects {
                let p = sides ? GridPosition(row: o.position.row, column: 2 - o.position.column)
                              : GridPosition(row: 2 - o.position.row, column: o.position.column)
                #expect(d.target.object(at: p)?.phrase == o.phrase)
            }
        }
    }

    @Test func knowledgeTasksApplyTheFacts() throws {
        for d in draws("colour", { $0.colourOf() }) {
            let (_, new) = diff(d)
            let thing = try #require(WorldKnowledge.colourThings.first { d.instruction.hasSuffix("\($0.0).") })
            #expect(new.first?.color == thing.1)
        }
        for d in draws("count", { $0.countAdd() }) {
            let (gone, new) = diff(d)
            let fact = try #require(WorldKnowledge.countThings.first { d.instruction.contains($0.0) })
            #expect(gone.isEmpty && new.count == fact.1)
            #expect(Set(new.map(\.phrase)).count == 1)
            // The new objects fill the first free cells in reading order.
            #expect(new.map(\.position) == Array((d.input?.freePositions ?? []).prefix(fact.1)))
        }
        for d in draws("mix", { $0.mix() }) {
            let (_, new) = diff(d)
            let mix = try #require(WorldKnowledge.mixes.first {
                d.instruction.contains("\($0.0.rawValue) and \($0.1.rawValue)") || d.instruction.contains("\($0.1.rawValue) and \($0.0.rawValue)")
                    || d.instruction.contains("using \($0.0.rawValue) paint mixed with \($0.1.rawValue)")
                    || d.instruction.contains("using \($0.1.rawValue) paint mixed with \($0.0.rawValue)")
            })
            #expect(new.first?.color == mix.2)
        }
        for d in draws("shape", { $0.shapeOf() }) {
            let (_, new) = diff(d)
            let thing = try #require(WorldKnowledge.shapeThings.first { d.instruction.hasSuffix("\($0.0).") })
            #expect(new.first?.shape == thing.1)
        }
    }

    @Test func timeShiftsChangeOnlyTheBackground() {
        for d in draws("time", { $0.timeShift() }) {
            #expect(d.input?.objects == d.target.objects)
            #expect(d.input?.background != d.target.background)
            if d.instruction.contains("twelve hours") || d.instruction.contains("half a day") {
                #expect(Set([d.input?.background, d.target.background]) == Set([.day, .night]))
            }
        }
    }

    @Test func generationPlacesObjectsByTheirRelations() throws {
        for d in draws("relations", { $0.generateRelations() }) {
            let objects = d.target.objects
            try #require(objects.count >= 2)
            #expect(d.input == nil)
            let when = try #require(WorldKnowledge.whens.first { d.instruction.hasSuffix("\($0.0).") })
            #expect(d.target.background == when.1)
        }
        for d in draws("gen-count", { $0.generateCount() }) {
            let fact = try #require(WorldKnowledge.countThings.first { d.instruction.contains($0.0) })
            #expect(d.target.objects.count == fact.1)
            #expect(Set(d.target.objects.map(\.position.row)).count == 1)
            #expect(d.target.objects.map(\.position.column) == Array(0..<fact.1))
        }
    }
}
