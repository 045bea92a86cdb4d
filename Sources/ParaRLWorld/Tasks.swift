// The seeded generator of thinking-aware tasks mirroring ParaBench (docs/design.md §3.8): editing in five categories
// and generation from descriptions that need reasoning, each with a template reasoning trace that ends in
// the canonical statement of the target scene.
import ParaRLCore

public enum TaskKind: String, CaseIterable, Sendable, Codable {
    case edit, generate
}

/// ParaBench's categories: five for editing, one for generation.
public enum TaskCategory: String, CaseIterable, Sendable, Codable {
    case spatial, temporal, causal
    case worldKnowledge = "world_knowledge"
    case general, generation

    public var kind: TaskKind { self == .generation ? .generate : .edit }
    public static let editing: [TaskCategory] = [.spatial, .temporal, .causal, .worldKnowledge, .general]
}

/// One task: an instruction, an input scene (editing), a reasoning trace and the target scene.
public struct WorldTask: Equatable, Sendable {
    public var id: String
    public var category: TaskCategory
    public var instruction: String
    /// Template sentences, the last of which is `targetScene.statement`.
    public var reasoning: String
    public var inputScene: Scene?
    public var targetScene: Scene
    public var kind: TaskKind { category.kind }

    /// Every object of the input and target scenes.
    public var allObjects: [SceneObject] { (inputScene?.objects ?? []) + targetScene.objects }
}

/// Draws tasks from a random stream. Each draw picks a task type of the category and a scene, and retries
/// (with the same stream) until the type applies to the scene and `accept` agrees.
public struct WorldTaskGenerator: Sendable {
    public init() {}

    /// A task of `category` with identifier `id`, drawn from `rng`.
    public func task(_ category: TaskCategory, id: String, rng: inout RandomStream,
                     accept: (WorldTask) -> Bool = { _ in true }) -> WorldTask {
        var draw = TaskDraw(rng: rng)
        defer { rng = draw.rng }
        while true {
            guard let d = draw.draft(category) else { continue }
            let task = WorldTask(id: id, category: category, instruction: d.instruction,
                                 reasoning: (d.steps + [d.target.statement]).joined(separator: " "),
                                 inputScene: d.input, targetScene: d.target)
            if accept(task) { return task }
        }
    }
}

/// A task before it has an id.
struct Draft {
    var instruction: String
    var steps: [String]
    var input: Scene?
    var target: Scene
}

/// One draw: the task types of each category as methods that return nil when they do not apply.
struct TaskDraw {
    var rng: RandomStream

    mutating func draft(_ category: TaskCategory) -> Draft? {
        switch category {
        case .spatial: return pickType([{ $0.moveBy() }, { $0.placeRelative() }, { $0.swap() }, { $0.mirror() }])
        case .temporal: return pickType([{ $0.timeShift() }, { $0.fall() }, { $0.rise() }, { $0.grow() }, { $0.ripen() }])
        case .causal: return pickType([{ $0.push() }, { $0.roll() }, { $0.melt() }, { $0.spill() }, { $0.rain() }])
        case .worldKnowledge: return pickType([{ $0.colourOf() }, { $0.countAdd() }, { $0.shapeOf() }, { $0.mix() }])
        case .general:
            return pickType([{ $0.addRelative() }, { $0.removeRelative() }, { $0.removeColour() }, { $0.replace() },
                             { $0.recolour() }])
        case .generation: return pickType([{ $0.generateCount() }, { $0.generateRelations() }, { $0.generateKnowledge() }])
        }
    }

    /// Runs one of the task types, chosen uniformly.
    private mutating func pickType(_ types: [(inout TaskDraw) -> Draft?]) -> Draft? {
        let f = types[rng.int(below: types.count)]
        return f(&self)
    }

    // MARK: Helpers

    mutating func say(_ group: [Template], _ values: [String: String]) -> String { rng.pick(group).render(values) }

    /// A scene of `count` objects at distinct cells with distinct (colour, shape) pairs.
    mutating func scene(_ count: ClosedRange<Int>, backgrounds: [Background] = Background.allCases) -> Scene {
        let n = count.lowerBound + rng.int(below: count.count)
        let cells = rng.sample(n, of: GridPosition.all.count)
        var objects: [SceneObject] = []
        for c in cells {
            var o: SceneObject
            repeat {
                o = SceneObject(color: rng.pick(WorldColor.allCases), shape: rng.pick(WorldShape.allCases),
                                size: rng.pick(WorldSize.allCases), position: GridPosition(index: c))
            } while objects.contains { $0.color == o.color && $0.shape == o.shape }
            objects.append(o)
        }
        rng.shuffle(&objects)
        return Scene(background: rng.pick(backgrounds), objects: objects)
    }

    mutating func randomObject(at p: GridPosition, avoiding scene: Scene) -> SceneObject {
        var o: SceneObject
        repeat {
            o = SceneObject(color: rng.pick(WorldColor.allCases), shape: rng.pick(WorldShape.allCases),
                            size: rng.pick(WorldSize.allCases), position: p)
        } while scene.object(color: o.color, shape: o.shape) != nil
        return o
    }

    /// The values of an object's slots, with `suffix` appended to each slot name ("obj2", "pos2", …).
    func slots(_ o: SceneObject, _ suffix: String = "") -> [String: String] {
        ["obj" + suffix: o.phrase, "name" + suffix: o.name, "pos" + suffix: o.position.name,
         "color" + suffix: o.color.rawValue, "shape" + suffix: o.shape.rawValue, "size" + suffix: o.size.rawValue]
    }

    mutating func keepOthers(_ steps: inout [String], _ scene: Scene, changed: Int = 1) {
        if scene.objects.count > changed { steps.append(say(WorldGrammar.keepOthers, [:])) }
    }

    static let directions: [(way: String, dr: Int, dc: Int)] = [("to the left", 0, -1), ("to the right", 0, 1), ("up", -1, 0), ("down", 1, 0)]
    static let relations: [(rel: String, dr: Int, dc: Int)] = [("above", -1, 0), ("below", 1, 0), ("to the left of", 0, -1), ("to the right of", 0, 1)]

    // MARK: Spatial

    mutating func moveBy() -> Draft? {
        let s = scene(1...4), o = rng.pick(s.objects), d = rng.pick(Self.directions), k = 1 + rng.int(below: 2)
        guard let to = o.position.offset(rows: d.dr * k, columns: d.dc * k), s.isFree(to) else { return nil }
        let steps = k == 1 ? "one cell" : "two cells"
        var v = slots(o)
        v["steps"] = steps
        v["way"] = d.way
        v["pos2"] = to.name
        var out = [say(WorldGrammar.locate, v), say(WorldGrammar.moveByResult, v)]
        keepOthers(&out, s)
        return Draft(instruction: say(WorldGrammar.moveBy, v), steps: out, input: s, target: s.moving(o, to: to))
    }

    mutating func placeRelative() -> Draft? {
        let s = scene(2...4), pair = rng.sample(2, of: s.objects.count)
        var o = s.objects[pair[0]], ref = s.objects[pair[1]]
        if rng.chance(0.5) { Swift.swap(&o, &ref) }
        let r = rng.pick(Self.relations)
        guard let to = ref.position.offset(rows: r.dr, columns: r.dc), s.isFree(to) else { return nil }
        var out = [say(WorldGrammar.locate, slots(ref)),
                   say(WorldGrammar.cellRelation, ["rel": r.rel, "pos": ref.position.name, "pos2": to.name]),
                   say(WorldGrammar.moveTo, ["obj": o.phrase, "pos": o.position.name, "pos2": to.name])]
        keepOthers(&out, s, changed: 2)
        let instruction = say(WorldGrammar.place, ["name": o.name, "rel": r.rel, "name2": ref.name])
        return Draft(instruction: instruction, steps: out, input: s, target: s.moving(o, to: to))
    }

    mutating func swap() -> Draft? {
        let s = scene(2...4), pair = rng.sample(2, of: s.objects.count)
        var a = s.objects[pair[0]], b = s.objects[pair[1]]
        if rng.chance(0.5) { Swift.swap(&a, &b) }
        let v = slots(a).merging(slots(b, "2")) { x, _ in x }
        var out = [say(WorldGrammar.locatePair, v), say(WorldGrammar.swapResult, v)]
        keepOthers(&out, s, changed: 2)
        var a2 = a, b2 = b
        a2.position = b.position
        b2.position = a.position
        let target = s.replacing(at: a.position, with: b2).replacing(at: b.position, with: a2)
        return Draft(instruction: say(WorldGrammar.swap, v), steps: out, input: s, target: target)
    }

    mutating func mirror() -> Draft? {
        let s = scene(1...3), sides = rng.chance(0.5)
        func mirrored(_ p: GridPosition) -> GridPosition {
            sides ? GridPosition(row: p.row, column: 2 - p.column) : GridPosition(row: 2 - p.row, column: p.column)
        }
        guard s.objects.contains(where: { mirrored($0.position) != $0.position }) else { return nil }
        var out = [say(sides ? WorldGrammar.mirrorSidesRule : WorldGrammar.mirrorRowsRule, [:])]
        var moved: [SceneObject] = []
        for o in s.objects {
            var m = o
            m.position = mirrored(o.position)
            moved.append(m)
            out.append(m.position == o.position
                       ? say(WorldGrammar.mirrorStay, slots(o))
                       : say(WorldGrammar.mirrorMove, ["obj": o.phrase, "pos": o.position.name, "pos2": m.position.name]))
        }
        let instruction = say(sides ? WorldGrammar.mirrorSides : WorldGrammar.mirrorRows, [:])
        return Draft(instruction: instruction, steps: out, input: s,
                     target: Scene(background: s.background, objects: moved))
    }

    // MARK: Temporal

    mutating func timeShift() -> Draft? {
        typealias Shift = (instruction: [Template], rule: [Template], from: [Background], to: (Background) -> Background)
        let shifts: [Shift] = [
            (WorldGrammar.twelveHours, WorldGrammar.twelveHoursRule, [.day, .night], { $0 == .day ? .night : .day }),
            (WorldGrammar.afterSunset, WorldGrammar.afterSunsetRule, [.day, .sunset], { _ in .night }),
            (WorldGrammar.earlyEvening, WorldGrammar.earlyEveningRule, [.day], { _ in .sunset }),
            (WorldGrammar.nextMorning, WorldGrammar.nextMorningRule, [.night, .sunset], { _ in .day }),
            (WorldGrammar.stormClears, WorldGrammar.stormClearsRule, [.rain], { _ in .day }),
        ]
        let shift = rng.pick(shifts)
        let s = scene(1...4, backgrounds: shift.from), to = shift.to(s.background)
        let v = ["bg": s.background.rawValue, "bg2": to.rawValue]
        let out = [say(WorldGrammar.backgroundNow, v), say(shift.rule, v), say(WorldGrammar.backgroundBecomes, v),
                   say(WorldGrammar.objectsStay, v)]
        return Draft(instruction: say(shift.instruction, v), steps: out, input: s, target: s.with(background: to))
    }

    /// `o` moving vertically by `dr` per step until the edge or another object: the final cell and the blocker.
    func slide(_ o: SceneObject, in s: Scene, dr: Int, dc: Int) -> (GridPosition, SceneObject?) {
        var at = o.position
        while let next = at.offset(rows: dr, columns: dc) {
            if let blocker = s.object(at: next) { return (at, blocker) }
            at = next
        }
        return (at, nil)
    }

    mutating func fall() -> Draft? { vertical(down: true) }
    mutating func rise() -> Draft? { vertical(down: false) }

    private mutating func vertical(down: Bool) -> Draft? {
        let s = scene(1...4), o = rng.pick(s.objects)
        let (to, blocker) = slide(o, in: s, dr: down ? 1 : -1, dc: 0)
        guard to != o.position else { return nil }
        var v = slots(o)
        v["pos2"] = to.name
        if let blocker { v["obj3"] = blocker.phrase }
        var out = [say(WorldGrammar.locate, v), say(down ? WorldGrammar.fallRule : WorldGrammar.riseRule, v)]
        if blocker == nil {
            out.append(say(down ? WorldGrammar.landGround : WorldGrammar.riseTop, v))
        } else {
            out.append(say(down ? WorldGrammar.landOn : WorldGrammar.riseUnder, v))
        }
        keepOthers(&out, s)
        return Draft(instruction: say(down ? WorldGrammar.fall : WorldGrammar.rise, v), steps: out, input: s,
                     target: s.moving(o, to: to))
    }

    /// A changed copy of `o` written as "so it becomes a …" after `lead` sentences.
    private mutating func transform(_ s: Scene, _ o: SceneObject, into new: SceneObject, instruction: String,
                                    lead: [String]) -> Draft {
        var out = lead
        out.append(say(WorldGrammar.becomes, ["obj2": new.phrase, "pos": o.position.name]))
        keepOthers(&out, s)
        return Draft(instruction: instruction, steps: out, input: s, target: s.replacing(at: o.position, with: new))
    }

    mutating func grow() -> Draft? {
        let s = scene(1...4), o = rng.pick(s.objects)
        guard o.size == .small else { return nil }
        var big = o
        big.size = .large
        let v = slots(o)
        return transform(s, o, into: big, instruction: say(WorldGrammar.grow, v),
                         lead: [say(WorldGrammar.locate, v), say(WorldGrammar.growRule, v)])
    }

    /// A scene holding an object of colour `c` (an object is recoloured when none has it), and that object.
    private mutating func scene(with c: WorldColor, _ count: ClosedRange<Int>) -> (Scene, SceneObject)? {
        var s = scene(count)
        if let o = s.objects.first(where: { $0.color == c }) { return (s, o) }
        var o = rng.pick(s.objects)
        guard s.object(color: c, shape: o.shape) == nil else { return nil }
        o.color = c
        s = s.replacing(at: o.position, with: o)
        return (s, o)
    }

    mutating func ripen() -> Draft? {
        guard let (s, o) = scene(with: .green, 1...4) else { return nil }
        let (fruit, ripe) = rng.pick(WorldKnowledge.fruits)
        var new = o
        new.color = ripe
        var v = slots(o)
        v["fruit"] = fruit
        v["color"] = ripe.rawValue
        return transform(s, o, into: new, instruction: say(WorldGrammar.ripen, v),
                         lead: [say(WorldGrammar.locate, v), say(WorldGrammar.ripenRule, v)])
    }

    // MARK: Causal

    mutating func push() -> Draft? {
        let s = scene(1...4), o = rng.pick(s.objects)
        let pushes = [("from the left", "to the right", 0, 1), ("from the right", "to the left", 0, -1),
                      ("from above", "down", 1, 0), ("from below", "up", -1, 0)]
        let (from, way, dr, dc) = rng.pick(pushes)
        guard let to = o.position.offset(rows: dr, columns: dc), s.isFree(to) else { return nil }
        var v = slots(o)
        v["from"] = from
        v["way"] = way
        v["pos2"] = to.name
        var out = [say(WorldGrammar.locate, v), say(WorldGrammar.pushRule, v), say(WorldGrammar.endsAt, v)]
        keepOthers(&out, s)
        return Draft(instruction: say(WorldGrammar.push, v), steps: out, input: s, target: s.moving(o, to: to))
    }

    mutating func roll() -> Draft? {
        let s = scene(1...4), o = rng.pick(s.objects), right = rng.chance(0.5)
        let (to, blocker) = slide(o, in: s, dr: 0, dc: right ? 1 : -1)
        guard to != o.position else { return nil }
        var v = slots(o)
        v["way"] = right ? "to the right" : "to the left"
        v["pos2"] = to.name
        if let blocker { v["obj3"] = blocker.phrase }
        var out = [say(WorldGrammar.locate, v), say(WorldGrammar.rollStart, v),
                   say(blocker == nil ? WorldGrammar.rollStopEdge : WorldGrammar.rollStopObject, v)]
        keepOthers(&out, s)
        return Draft(instruction: say(WorldGrammar.roll, v), steps: out, input: s, target: s.moving(o, to: to))
    }

    mutating func melt() -> Draft? {
        guard let (s, o) = scene(with: .white, 1...4) else { return nil }
        let water = SceneObject(color: .blue, shape: .circle, size: .small, position: o.position)
        let v = slots(o)
        var out = [say(WorldGrammar.locate, v), say(WorldGrammar.meltRule, v), say(WorldGrammar.puddle, v)]
        keepOthers(&out, s)
        return Draft(instruction: say(WorldGrammar.melt, v), steps: out, input: s,
                     target: s.replacing(at: o.position, with: water))
    }

    mutating func spill() -> Draft? {
        let s = scene(2...4)
        let pairs = s.objects.compactMap { o -> (SceneObject, SceneObject)? in
            guard let p = o.position.offset(rows: 1, columns: 0), let under = s.object(at: p), under.color != o.color
            else { return nil }
            return (o, under)
        }
        guard !pairs.isEmpty else { return nil }
        let (can, under) = rng.pick(pairs)
        var painted = under
        painted.color = can.color
        var v = slots(can)
        v["obj2"] = under.phrase
        v["pos2"] = under.position.name
        v["obj3"] = painted.phrase
        var out = [say(WorldGrammar.locate, v), say(WorldGrammar.spillRule, v), say(WorldGrammar.below, v),
                   say(WorldGrammar.painted, v)]
        keepOthers(&out, s, changed: 2)
        return Draft(instruction: say(WorldGrammar.spill, v), steps: out, input: s,
                     target: s.replacing(at: under.position, with: painted))
    }

    mutating func rain() -> Draft? {
        let s = scene(1...4, backgrounds: [.day, .night, .sunset])
        let v = ["bg": s.background.rawValue, "bg2": Background.rain.rawValue]
        let out = [say(WorldGrammar.backgroundNow, v), say(WorldGrammar.rainRule, v),
                   say(WorldGrammar.backgroundBecomes, v), say(WorldGrammar.objectsStay, v)]
        return Draft(instruction: say(WorldGrammar.rain, v), steps: out, input: s, target: s.with(background: .rain))
    }

    // MARK: World knowledge

    mutating func colourOf() -> Draft? {
        let s = scene(1...4), o = rng.pick(s.objects), (thing, c) = rng.pick(WorldKnowledge.colourThings)
        guard c != o.color, s.object(color: c, shape: o.shape) == nil else { return nil }
        var new = o
        new.color = c
        var v = slots(o)
        v["thing"] = thing
        v["color"] = c.rawValue
        return transform(s, o, into: new, instruction: say(WorldGrammar.colourOf, v),
                         lead: [say(WorldGrammar.locate, v), say(WorldGrammar.thingColour, v)])
    }

    mutating func countAdd() -> Draft? {
        let (thing, n) = rng.pick(WorldKnowledge.countThings)
        guard n < Scene.maxObjects else { return nil }
        let s = scene(1...(Scene.maxObjects - n))
        let added = randomObject(at: GridPosition(index: 0), avoiding: s)
        let cells = Array(s.freePositions.prefix(n))
        let new = cells.map { SceneObject(color: added.color, shape: added.shape, size: added.size, position: $0) }
        let v = ["n": numberWords[n], "countthing": thing, "color": added.color.rawValue, "size": added.size.rawValue,
                 "shape": added.shape.rawValue, "shapes": added.shape.plural, "positions": listPhrase(cells.map(\.name))]
        let out = [say(WorldGrammar.countFact, v), say(WorldGrammar.addCount, v), say(WorldGrammar.fillCells, v),
                   say(WorldGrammar.keepOthers, v)]
        return Draft(instruction: say(WorldGrammar.countAdd, v), steps: out, input: s,
                     target: Scene(background: s.background, objects: s.objects + new))
    }

    mutating func shapeOf() -> Draft? {
        let s = scene(1...4), o = rng.pick(s.objects), (thing, shape) = rng.pick(WorldKnowledge.shapeThings)
        guard shape != o.shape, s.object(color: o.color, shape: shape) == nil else { return nil }
        var new = o
        new.shape = shape
        var v = slots(o)
        v["shapething"] = thing
        v["shape"] = shape.rawValue
        return transform(s, o, into: new, instruction: say(WorldGrammar.shapeOf, v),
                         lead: [say(WorldGrammar.locate, v), say(WorldGrammar.shapeFact, v)])
    }

    mutating func mix() -> Draft? {
        let s = scene(1...4), o = rng.pick(s.objects)
        var (a, b, c) = rng.pick(WorldKnowledge.mixes)
        if rng.chance(0.5) { Swift.swap(&a, &b) }
        guard c != o.color, s.object(color: c, shape: o.shape) == nil else { return nil }
        var new = o
        new.color = c
        var v = slots(o)
        v["color"] = a.rawValue
        v["color2"] = b.rawValue
        v["color3"] = c.rawValue
        return transform(s, o, into: new, instruction: say(WorldGrammar.mix, v),
                         lead: [say(WorldGrammar.locate, v), say(WorldGrammar.mixRule, v)])
    }

    // MARK: General

    mutating func addRelative() -> Draft? {
        let s = scene(1...3), ref = rng.pick(s.objects), r = rng.pick(Self.relations)
        guard let to = ref.position.offset(rows: r.dr, columns: r.dc), s.isFree(to) else { return nil }
        let new = randomObject(at: to, avoiding: s)
        var v = slots(ref, "2").merging(slots(new)) { x, _ in x }
        v["rel"] = r.rel
        var out = [say(WorldGrammar.locate, slots(ref)),
                   say(WorldGrammar.cellRelation, ["rel": r.rel, "pos": ref.position.name, "pos2": to.name]),
                   say(WorldGrammar.placed, ["obj2": new.phrase, "pos2": to.name])]
        keepOthers(&out, s, changed: 0)
        return Draft(instruction: say(WorldGrammar.addRelative, v), steps: out, input: s,
                     target: s.replacing(at: to, with: new))
    }

    mutating func removeRelative() -> Draft? {
        let s = scene(2...4), ref = rng.pick(s.objects), r = rng.pick(Self.relations)
        guard let at = ref.position.offset(rows: r.dr, columns: r.dc), let gone = s.object(at: at) else { return nil }
        var out = [say(WorldGrammar.locate, slots(ref)),
                   say(WorldGrammar.cellRelation, ["rel": r.rel, "pos": ref.position.name, "pos2": at.name]),
                   say(WorldGrammar.removed, ["obj2": gone.phrase, "pos2": at.name])]
        keepOthers(&out, s)
        return Draft(instruction: say(WorldGrammar.removeRelative, ["rel": r.rel, "name": ref.name]), steps: out,
                     input: s, target: s.replacing(at: at, with: nil))
    }

    mutating func removeColour() -> Draft? {
        let s = scene(2...4), c = rng.pick(s.objects).color
        let gone = s.objects.filter { $0.color == c }
        var out = [say(WorldGrammar.removeColourRule, ["color": c.rawValue])]
        out += gone.map { say(WorldGrammar.removedEach, slots($0)) }
        keepOthers(&out, s, changed: gone.count)
        return Draft(instruction: say(WorldGrammar.removeColour, ["color": c.rawValue]), steps: out, input: s,
                     target: Scene(background: s.background, objects: s.objects.filter { $0.color != c }))
    }

    mutating func replace() -> Draft? {
        let s = scene(1...4), o = rng.pick(s.objects)
        let new = randomObject(at: o.position, avoiding: s)
        let v = slots(o).merging(["obj2": new.phrase, "size": new.size.rawValue, "color": new.color.rawValue,
                                  "shape": new.shape.rawValue]) { _, y in y }
        var out = [say(WorldGrammar.locate, slots(o)), say(WorldGrammar.takesPlace, v)]
        keepOthers(&out, s)
        return Draft(instruction: say(WorldGrammar.replace, v), steps: out, input: s,
                     target: s.replacing(at: o.position, with: new))
    }

    mutating func recolour() -> Draft? {
        let s = scene(2...4), pair = rng.sample(2, of: s.objects.count)
        var o = s.objects[pair[0]], ref = s.objects[pair[1]]
        if rng.chance(0.5) { Swift.swap(&o, &ref) }
        guard o.color != ref.color, s.object(color: ref.color, shape: o.shape) == nil else { return nil }
        var new = o
        new.color = ref.color
        let instruction = say(WorldGrammar.recolour, ["name": o.name, "name2": ref.name])
        return transform(s, o, into: new, instruction: instruction,
                         lead: [say(WorldGrammar.isColour, ["obj2": ref.phrase, "color": ref.color.rawValue])])
    }

    // MARK: Generation

    private mutating func when() -> (String, Background) { rng.pick(WorldKnowledge.whens) }

    mutating func generateCount() -> Draft? {
        let (thing, n) = rng.pick(WorldKnowledge.countThings)
        guard n <= GridPosition.columns else { return nil }
        let row = rng.int(below: GridPosition.rows)
        let (whenPhrase, bg) = when()
        let proto = randomObject(at: GridPosition(index: 0), avoiding: Scene(background: bg, objects: []))
        let cells = (0..<n).map { GridPosition(row: row, column: $0) }
        let v = ["n": numberWords[n], "countthing": thing, "color": proto.color.rawValue, "size": proto.size.rawValue,
                 "shapes": proto.shape.plural, "row": ["top", "middle", "bottom"][row], "when": whenPhrase,
                 "bg": bg.rawValue, "positions": listPhrase(cells.map(\.name))]
        let out = [say(WorldGrammar.countFact, v), say(WorldGrammar.drawCount, v), say(WorldGrammar.rowCells, v),
                   say(WorldGrammar.whenBackground, v)]
        let objects = cells.map { SceneObject(color: proto.color, shape: proto.shape, size: proto.size, position: $0) }
        return Draft(instruction: say(WorldGrammar.generateCount, v), steps: out, input: nil,
                     target: Scene(background: bg, objects: objects))
    }

    mutating func generateRelations() -> Draft? {
        let (whenPhrase, bg) = when()
        let three = rng.chance(0.5)
        let first = GridPosition(index: rng.int(below: GridPosition.all.count))
        let r1 = rng.pick(Self.relations)
        guard let second = first.offset(rows: r1.dr, columns: r1.dc) else { return nil }
        var s = Scene(background: bg, objects: [])
        let a = randomObject(at: first, avoiding: s)
        s = s.replacing(at: first, with: a)
        let b = randomObject(at: second, avoiding: s)
        guard b.shape != a.shape else { return nil }
        s = s.replacing(at: second, with: b)
        var v = slots(a).merging(slots(b, "2")) { x, _ in x }
        v["rel"] = r1.rel
        v["when"] = whenPhrase
        v["bg"] = bg.rawValue
        var out = [say(WorldGrammar.firstAt, v), say(WorldGrammar.cellRelation, v), say(WorldGrammar.thenAt, v)]
        if three {
            let r2 = rng.pick(Self.relations)
            guard let third = second.offset(rows: r2.dr, columns: r2.dc), s.isFree(third) else { return nil }
            let c = randomObject(at: third, avoiding: s)
            guard c.shape != b.shape else { return nil }
            s = s.replacing(at: third, with: c)
            v.merge(slots(c, "3")) { x, _ in x }
            v["rel2"] = r2.rel
            out.append(say(WorldGrammar.cellRelation, ["rel": r2.rel, "pos": second.name, "pos2": third.name]))
            out.append(say(WorldGrammar.thenAt, ["obj2": c.phrase, "pos2": third.name]))
        }
        out.append(say(WorldGrammar.whenBackground, v))
        let instruction = say(three ? WorldGrammar.generateThree : WorldGrammar.generateTwo, v)
        return Draft(instruction: instruction, steps: out, input: nil, target: s)
    }

    mutating func generateKnowledge() -> Draft? {
        let (whenPhrase, bg) = when()
        let (thing, colour) = rng.pick(WorldKnowledge.colourThings)
        let (shapeThing, shape) = rng.pick(WorldKnowledge.shapeThings)
        let cells = rng.sample(2, of: GridPosition.all.count)
        var order = [GridPosition(index: cells[0]), GridPosition(index: cells[1])]
        rng.shuffle(&order)
        let a = SceneObject(color: colour, shape: rng.pick(WorldShape.allCases), size: rng.pick(WorldSize.allCases),
                            position: order[0])
        let b = SceneObject(color: rng.pick(WorldColor.allCases), shape: shape, size: rng.pick(WorldSize.allCases),
                            position: order[1])
        guard a.color != b.color || a.shape != b.shape else { return nil }
        var v = slots(a).merging(slots(b, "2")) { x, _ in x }
        v["thing"] = thing
        v["shapething"] = shapeThing
        v["when"] = whenPhrase
        v["bg"] = bg.rawValue
        let out = [say(WorldGrammar.thingColour, v), say(WorldGrammar.shapeFact, ["shapething": shapeThing, "shape": shape.rawValue]),
                   say(WorldGrammar.firstAt, v), say(WorldGrammar.thenAt, v), say(WorldGrammar.whenBackground, v)]
        return Draft(instruction: say(WorldGrammar.generateKnowledge, v), steps: out, input: nil,
                     target: Scene(background: bg, objects: [a, b]))
    }
}
