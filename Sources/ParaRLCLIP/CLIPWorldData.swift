// Training and evaluation pairs for the world CLIP (issue 6 item 6): a target scene's image with a caption,
// its reasoning trace or a partial trace (the reward sees partial text), and a hard negative that changes
// one attribute of the scene — colour, shape, count or position — with the matching text.
import Foundation
import ParaRLCore
import ParaRLWorld

/// The attribute a hard negative changes.
public enum CLIPHardNegativeKind: String, CaseIterable, Sendable, Codable {
    case color, shape, count, position
}

/// The text forms a scene is described by.
public enum CLIPTextForm: String, CaseIterable, Sendable {
    /// The canonical statement "final scene: …".
    case caption
    /// The whole reasoning trace, ending in the statement.
    case reasoning
    /// A prefix of the trace that reaches at least the first object of the statement.
    case partialReasoning
}

public enum CLIPWorldData {
    /// `scene` with one attribute changed, or nil when that change is impossible (e.g. no free cell).
    public static func hardNegative(of scene: Scene, kind: CLIPHardNegativeKind, rng: inout RandomStream) -> Scene? {
        let objects = scene.objects
        switch kind {
        case .color:
            guard !objects.isEmpty else { return nil }
            var o = objects[rng.int(below: objects.count)]
            let others = WorldColor.allCases.filter { $0 != o.color }
            o.color = others[rng.int(below: others.count)]
            return scene.replacing(at: o.position, with: o)
        case .shape:
            guard !objects.isEmpty else { return nil }
            var o = objects[rng.int(below: objects.count)]
            let others = WorldShape.allCases.filter { $0 != o.shape }
            o.shape = others[rng.int(below: others.count)]
            return scene.replacing(at: o.position, with: o)
        case .count:  // one more copy of an object in a free cell, or one object fewer
            let free = scene.freePositions
            if let source = objects.isEmpty ? nil : objects[rng.int(below: objects.count)],
               !free.isEmpty, objects.count < Scene.maxObjects, objects.count == 1 || rng.uniform() < 0.5 {
                var copy = source
                copy.position = free[rng.int(below: free.count)]
                return scene.replacing(at: copy.position, with: copy)
            }
            guard !objects.isEmpty else { return nil }
            return scene.replacing(at: objects[rng.int(below: objects.count)].position, with: nil)
        case .position:
            let free = scene.freePositions
            guard !objects.isEmpty, !free.isEmpty else { return nil }
            return scene.moving(objects[rng.int(below: objects.count)], to: free[rng.int(below: free.count)])
        }
    }

    /// The text of `form` for `task` whose final statement is that of `scene` (the task's target or a negative).
    /// A partial trace keeps at least `minimumWords` words (and at least the first object of the statement).
    public static func text(_ form: CLIPTextForm, task: WorldTask, scene: Scene, minimumWords: Int = 0,
                            rng: inout RandomStream) -> String {
        let statement = scene.statement
        let steps = reasoningSteps(task)
        switch form {
        case .caption: return statement
        case .reasoning: return steps + statement
        case .partialReasoning:
            let stepWords = steps.split(separator: " ").count
            let words = (steps + statement).split(separator: " ")
            let lowest = min(words.count, max(stepWords + 6, minimumWords))  // "final scene: a red small circle" at least
            let keep = lowest + rng.int(below: max(1, words.count - lowest + 1))
            return words.prefix(keep).joined(separator: " ")
        }
    }

    /// The words a partial trace must keep so that it tells `scene` from every one of `negatives`: one past the
    /// first word where the full traces differ. A shorter cut would give an anchor and its negative the same text
    /// for different images, and the contrastive loss would then teach the towers to ignore the changed attribute.
    public static func distinguishingWords(task: WorldTask, scene: Scene, negatives: [Scene]) -> Int {
        let steps = reasoningSteps(task)
        let anchor = (steps + scene.statement).split(separator: " ")
        return negatives.map { negative in
            let words = (steps + negative.statement).split(separator: " ")
            let same = zip(anchor, words).prefix { $0 == $1 }.count
            return same + 1
        }.max() ?? 0
    }

    /// The task's reasoning trace without its final statement (with a trailing space).
    static func reasoningSteps(_ task: WorldTask) -> String {
        task.reasoning.hasSuffix(task.targetScene.statement)
            ? String(task.reasoning.dropLast(task.targetScene.statement.count)) : task.reasoning + " "
    }
}
