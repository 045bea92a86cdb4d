// Agreement data without sampling (`error_groups:` of `pararl clip train`): groups of (text, image) pairs of one
// training task whose texts and images carry errors shaped like the policy's — a wrong attribute in the stated scene
// or in the image, a repeated or dropped word, two objects stated in one cell, a final statement cut short or
// missing, noise in the reasoning before the statement, and partial texts whose still-masked words are dropped —
// each with its exact world reward (`WorldAlignment`, strict on complete texts as the judge, lenient on partial
// ones) as the target of `CLIPScoreRegression`. A group is what a group advantage compares: rollouts of one prompt
// at one state, so the loss's within-group term teaches the order that GRPO uses.
import Foundation
import ParaRLCore
import ParaRLMedia
import ParaRLWorld

public enum CLIPErrorGroups {
    /// The errors a variant's text can carry.
    enum TextError: CaseIterable { case none, reasoningNoise, repeatedWord, droppedWord, sharedCell, cutStatement, noStatement }

    /// `count` variants of `task`: all complete (t = T) or all partial with one shared mask rate.
    public static func group(task: WorldTask, count: Int, renderer: SceneRenderer, alignment: WorldAlignment,
                             rng: inout RandomStream) -> [CLIPPolicySamples.Pair] {
        let partial = rng.uniform() < 0.35
        let maskRate = 0.1 + 0.5 * rng.uniformDouble()
        let steps = CLIPWorldData.reasoningSteps(task)
        return (0..<count).map { _ in
            let imageScene = rng.uniform() < 0.6 ? task.targetScene : negative(of: task.targetScene, rng: &rng)
            let textScene = rng.uniform() < 0.6 ? task.targetScene : negative(of: task.targetScene, rng: &rng)
            var words = steps.split(separator: " ").map(String.init)
            var statement = textScene.statement.split(separator: " ").map(String.init)
            let errors = TextError.allCases
            switch rng.uniform() < 0.45 ? TextError.none : errors[1 + rng.int(below: errors.count - 1)] {
            case .none: break
            case .reasoningNoise: corrupt(&words, rng: &rng)
            case .repeatedWord where statement.count > 3:
                let i = 2 + rng.int(below: statement.count - 2)
                statement.insert(statement[i], at: i)
            case .droppedWord where statement.count > 3:
                statement.remove(at: 2 + rng.int(below: statement.count - 2))
            case .sharedCell where textScene.objects.count >= 2:
                let names = textScene.objects.map(\.position.name)
                statement = textScene.statement.replacingFirst("at \(names[1])", with: "at \(names[0])")
                    .split(separator: " ").map(String.init)
            case .cutStatement: statement = Array(statement.prefix(2 + rng.int(below: max(1, statement.count - 2))))
            case .noStatement: statement = []
            default: corrupt(&words, rng: &rng)
            }
            words += statement
            if partial { words = words.filter { _ in rng.uniformDouble() >= maskRate } }
            let text = words.joined(separator: " ")
            let image = renderer.render(imageScene)
            return CLIPPolicySamples.Pair(text: text, image: image,
                                          score: alignment.score(text: text, image: image, complete: !partial))
        }
    }

    static func negative(of scene: Scene, rng: inout RandomStream) -> Scene {
        let kinds = CLIPHardNegativeKind.allCases
        return CLIPWorldData.hardNegative(of: scene, kind: kinds[rng.int(below: kinds.count)], rng: &rng) ?? scene
    }

    /// Repeats or drops one word of `words` (no change when there are none).
    static func corrupt(_ words: inout [String], rng: inout RandomStream) {
        guard !words.isEmpty else { return }
        let i = rng.int(below: words.count)
        if rng.uniform() < 0.5 { words.insert(words[i], at: i) } else { words.remove(at: i) }
    }
}

extension String {
    /// `self` with the first occurrence of `target` replaced (unchanged when absent).
    func replacingFirst(_ target: String, with replacement: String) -> String {
        guard let r = range(of: target) else { return self }
        return replacingCharacters(in: r, with: replacement)
    }
}
