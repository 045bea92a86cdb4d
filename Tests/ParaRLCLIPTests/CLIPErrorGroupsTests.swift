// The error groups of the world CLIP's agreement training (`error_groups`): every pair's target is the exact world
// reward of that very pair, a group mixes better and worse variants of one task, the errors reach both the text and
// the image, and bad values of the new keys are errors naming key and file.
import Foundation
@testable import ParaRLCLIP
import ParaRLCore
import ParaRLMedia
import ParaRLRunKit
import ParaRLWorld
import Testing

@Suite("CLIP error groups")
struct CLIPErrorGroupsTests {
    let source = WorldTaskSource(seed: 0)
    let renderer = SceneRenderer(imageSize: 32)
    let alignment = WorldAlignment(imageSize: 32)

    func groups(_ n: Int, size: Int = 4, seed: UInt64 = 3) -> [(WorldTask, [CLIPPolicySamples.Pair])] {
        var rng = RandomStream(seed: seed)
        return (0..<n).map { i in
            let task = source.trainTask(index: i)
            return (task, CLIPErrorGroups.group(task: task, count: size, renderer: renderer, alignment: alignment, rng: &rng))
        }
    }

    @Test("targets are the exact world reward of the pair, strict on complete texts")
    func targetsAreExact() {
        var complete = 0
        for (_, group) in groups(40) {
            #expect(group.count == 4)
            for pair in group {
                let strict = alignment.score(text: pair.text, image: pair.image, complete: true)
                let lenient = alignment.score(text: pair.text, image: pair.image, complete: false)
                #expect(pair.score == strict || pair.score == lenient)
                #expect((0...100).contains(pair.score))
                if pair.score == strict && pair.score != lenient { complete += 1 }
            }
        }
        #expect(complete > 0)  // some groups are read strictly (complete outputs)
    }

    @Test("groups order their variants: most mix scores, the intact pair scores 100, broken statements 0")
    func groupsMixScores() {
        let all = groups(60)
        let mixed = all.filter { Set($0.1.map(\.score)).count > 1 }.count
        #expect(mixed >= 30)
        let pairs = all.flatMap(\.1)
        #expect(pairs.contains { $0.score == 100 })
        #expect(pairs.contains { $0.score == 0 })
        #expect(pairs.contains { $0.score > 0 && $0.score < 100 })
        // The texts differ from the clean trace, and the images are not always the target's.
        #expect(all.contains { task, group in group.contains { $0.text != task.reasoning } })
        #expect(all.contains { task, group in group.contains { $0.image != renderer.render(task.targetScene) } })
    }

    @Test("the same seed gives the same groups")
    func deterministic() {
        let a = groups(10), b = groups(10), c = groups(10, seed: 4)
        #expect(a.map { $0.1.map(\.text) } == b.map { $0.1.map(\.text) })
        #expect(a.map { $0.1.map(\.score) } == b.map { $0.1.map(\.score) })
        #expect(a.map { $0.1.map(\.text) } != c.map { $0.1.map(\.text) })
    }

    @Test("bad error_groups and error_group_size are errors naming key and file")
    func badKeys() {
        for (yaml, key) in [("error_groups: -1", "error_groups"), ("error_group_size: 1", "error_group_size"),
                            ("error_groups: 5000", "error_groups")] {
            do {
                _ = try CLIPTrainConfig.parse(yaml: yaml + "\n", path: "clip.yaml")
                Issue.record("\(yaml) was accepted")
            } catch {
                let message = "\(error)"
                #expect(message.contains(key) && message.contains("clip.yaml"), "\(message)")
            }
        }
        #expect((try? CLIPTrainConfig.parse(yaml: "error_groups: 8\nerror_group_size: 4\n", path: "clip.yaml"))?.errorGroups == 8)
    }
}
