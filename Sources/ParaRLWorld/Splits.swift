// The fixed evaluation split (300 tasks: 40 per editing category, 100 generation) and on-demand training
// tasks, both derived from one seed; attribute combinations held out of training appear only in evaluation.
import ParaRLCore

public enum WorldSplit: String, CaseIterable, Sendable {
    case train, eval
}

/// An attribute combination held out of training: an object of this shape (or colour) at this position.
///
/// Combinations are held out by position rather than as colour × shape so that every 4×4 patch of an
/// evaluation image still occurs in training images: the image tokenizer can represent it, and the policy
/// has to generalise where it puts a known object.
public struct HeldOutCombination: Sendable, Equatable, CustomStringConvertible {
    public var shape: WorldShape?
    public var color: WorldColor?
    public var position: GridPosition

    public init(shape: WorldShape? = nil, color: WorldColor? = nil, position: GridPosition) {
        self.shape = shape
        self.color = color
        self.position = position
    }

    public func matches(_ o: SceneObject) -> Bool {
        o.position == position && (shape.map { $0 == o.shape } ?? true) && (color.map { $0 == o.color } ?? true)
    }

    public var description: String {
        let what = [color?.rawValue, shape?.rawValue ?? "object"].compactMap { $0 }.joined(separator: " ")
        return "\(what) at \(position.name)"
    }
}

/// Where world tasks come from for a seed. Task `i` of a split depends only on (seed, split, i), so a split
/// can be generated in any order, in parallel, or one task at a time.
public struct WorldTaskSource: Sendable {
    /// Tasks per category in the evaluation split, in id order (ParaBench: 200 editing + 100 generation).
    public static let evalCounts: [(TaskCategory, Int)] = [
        (.spatial, 40), (.temporal, 40), (.causal, 40), (.worldKnowledge, 40), (.general, 40), (.generation, 100),
    ]

    /// Attribute combinations never seen in training inputs or targets; the evaluation split keeps them.
    public static let heldOut: [HeldOutCombination] = [
        HeldOutCombination(shape: .triangle, position: GridPosition(row: 1, column: 1)),
        HeldOutCombination(shape: .ring, position: GridPosition(row: 0, column: 0)),
        HeldOutCombination(shape: .cross, position: GridPosition(row: 2, column: 2)),
        HeldOutCombination(color: .purple, position: GridPosition(row: 0, column: 2)),
    ]

    public static func involvesHeldOut(_ task: WorldTask) -> Bool {
        task.allObjects.contains { o in heldOut.contains { $0.matches(o) } }
    }

    public let seed: UInt64
    /// The evaluation split, in id order.
    public let evalTasks: [WorldTask]
    private let evalKeys: Set<String>
    private let generator = WorldTaskGenerator()

    public init(seed: UInt64) {
        self.seed = seed
        let root = RandomStream(seed: seed).split("eval")
        var tasks: [WorldTask] = []
        let generator = WorldTaskGenerator()
        for (category, count) in Self.evalCounts {
            let stream = root.split(category.rawValue)
            for i in 0..<count {
                var rng = stream.split(i)
                tasks.append(generator.task(category, id: Self.evalID(category, i), rng: &rng))
            }
        }
        evalTasks = tasks
        evalKeys = Set(tasks.map(Self.key))
    }

    public static func evalID(_ category: TaskCategory, _ i: Int) -> String {
        "eval-\(category.rawValue.replacingOccurrences(of: "_", with: "-"))-\(pad(i, 3))"
    }

    public static func trainID(_ i: Int) -> String { "train-\(pad(i, 6))" }

    /// Training task `index`: a category drawn with the evaluation split's proportions (2/15 per editing
    /// category, 1/3 generation), never a held-out combination, never an evaluation task's instruction on
    /// the same input.
    public func trainTask(index: Int) -> WorldTask {
        var rng = RandomStream(seed: seed).split("train").split(index)
        let r = rng.int(below: 15)
        let category = r < 10 ? TaskCategory.editing[r / 2] : .generation
        return generator.task(category, id: Self.trainID(index), rng: &rng) { task in
            !Self.involvesHeldOut(task) && !evalKeys.contains(Self.key(task))
        }
    }

    public func trainTasks(_ range: Range<Int>) -> [WorldTask] { range.map(trainTask(index:)) }

    /// The task of an evaluation or training id, if it is one of this source's.
    public func task(id: String) -> WorldTask? {
        if id.hasPrefix("eval-") { return evalTasks.first { $0.id == id } }
        if id.hasPrefix("train-"), let i = Int(id.dropFirst(6)), i >= 0, Self.trainID(i) == id { return trainTask(index: i) }
        return nil
    }

    private static func key(_ t: WorldTask) -> String { t.instruction + "|" + (t.inputScene?.body ?? "") }

    private static func pad(_ i: Int, _ width: Int) -> String {
        let s = String(i)
        return String(repeating: "0", count: max(0, width - s.count)) + s
    }
}
