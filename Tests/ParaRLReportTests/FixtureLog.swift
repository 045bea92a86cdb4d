// Writes small, deterministic rollout logs for the report tests: world scenes rendered to 32×32 images, partial
// images with patches still masked, partial texts with masked words, Eq. 4 rewards (μ 22, σ 4) and group advantages,
// evaluations, and text that tries to inject markup.
import Foundation
import ParaRLMedia
import ParaRLStorage
import ParaRLWorld
import TestSupport

struct FixtureRun {
    var record: RunRecord
    var path: String
    var steps: [StepRecord] = []
    var groups: [GroupRecord] = []
    var rollouts: [RolloutRecord] = []
    var snapshots: [SnapshotRecord] = []
    var evaluations: [EvaluationRecord] = []
    /// The paired reward evaluation's rollouts at step 0 and at the last step (with `finalEvaluation`).
    var rewardRollouts: [RewardEvalRolloutRecord] = []
}

enum FixtureLog {
    static let injected = "<script>alert('x')</script> & \"quoted\""
    static let totalSteps = 8

    /// A temporary folder, removed by the caller.
    static func tempDir() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pararl-report-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    static let tasks = Array(WorldTaskSource(seed: 7).evalTasks.enumerated().filter { $0.offset % 37 == 0 }.map(\.element))

    /// `target` with a share `masked` of its 4×4 patches painted mask-grey.
    static func partial(_ target: RGBImage, masked: Double, rng: inout TestRNG) -> RGBImage {
        var image = target
        for py in stride(from: 0, to: target.height, by: 4) {
            for px in stride(from: 0, to: target.width, by: 4) where Double(rng.uniform()) < masked {
                image.fill(x: px, y: py, width: 4, height: 4, with: RGB(128, 128, 128))
            }
        }
        return image
    }

    static func partialText(_ text: String, masked: Double, rng: inout TestRNG) -> String {
        text.split(separator: " ").map { Double(rng.uniform()) < masked ? "<mask>" : String($0) }.joined(separator: " ")
    }

    /// Writes run `runID` into a new log in `dir/<runID>/rollouts.sqlite` and returns what it wrote.
    static func write(runID: String, in dir: URL, objective: String = "trajectory", s: Int = 3, steps: Int = 3,
                      groups: Int = 2, g: Int = 3, seed: UInt64 = 1, contentSeed: UInt64? = nil, corruptOneImage: Bool = false,
                      finalEvaluation: Bool = true, rewardEvaluations: Bool = false) throws -> FixtureRun {
        let runDir = dir.appendingPathComponent(runID)
        try FileManager.default.createDirectory(at: runDir, withIntermediateDirectories: true)
        let path = runDir.appendingPathComponent(RolloutLog.fileName).path
        let log = try RolloutLog(path: path)
        var rng = TestRNG(seed: contentSeed ?? seed)
        let renderer = SceneRenderer(imageSize: 32)
        let record = RunRecord(runID: runID, configYAML: "objective: \(objective)\nsampled_steps: \(s)\nnote: \"\(injected)\"\n",
                               seed: seed, codeVersion: "fixture", objective: objective, sampledSteps: s, clipMu: 22, clipSigma: 4,
                               startedAt: Date(timeIntervalSince1970: 1_790_000_000))
        try log.recordRun(record)
        var out = FixtureRun(record: record, path: path)
        func evaluation(step: Int, scope: String, tasks: Int) -> EvaluationRecord {
            let axes = (0..<6).map { _ in 30 + 60 * Double(rng.uniform()) }
            let consistency: Double? = scope == "kind:generate" ? nil : axes[2]
            let present = [axes[0], axes[1], consistency, axes[3], axes[4], axes[5]].compactMap { $0 }
            return EvaluationRecord(step: step, scope: scope, tasks: tasks, textQuality: axes[0], textAlignment: axes[1],
                                    imageConsistency: consistency, imageAlignment: axes[3], imageQuality: axes[4],
                                    outputAlignment: axes[5], overall: present.reduce(0, +) / Double(present.count))
        }
        let start = [evaluation(step: 0, scope: "overall", tasks: 6), evaluation(step: 0, scope: "kind:generate", tasks: 2)]
        try log.recordEvaluations(runID: runID, start)
        out.evaluations += start
        for step in 1...steps {
            var gs: [GroupRecord] = [], rs: [RolloutRecord] = [], ss: [SnapshotRecord] = []
            for k in 0..<groups {
                let task = tasks[(step * groups + k) % tasks.count]
                var pool = Array(1...totalSteps)
                var sampled: [Int] = []
                for _ in 0..<s { sampled.append(pool.remove(at: rng.int(pool.count))) }
                sampled.sort()
                if objective == "output" { sampled = [totalSteps] }
                let instruction = k == 1 && step == 1 ? task.instruction + " " + injected : task.instruction
                let input = try task.inputScene.map { try PNGCodec.encode(renderer.render($0)) }
                gs.append(GroupRecord(step: step, group: k, taskID: task.id, kind: task.kind.rawValue, category: task.category.rawValue,
                                      instruction: instruction, inputImagePNG: input, sampledSteps: sampled))
                let target = renderer.render(task.targetScene)
                var groupSnapshots: [[SnapshotRecord]] = []
                for i in 0..<g {
                    let finalText = i == 0 && k == 0 ? task.reasoning + " " + injected : task.reasoning
                    rs.append(RolloutRecord(step: step, group: k, rollout: i, finalText: finalText,
                                            finalImagePNG: try PNGCodec.encode(partial(target, masked: 0.1 * Double(i), rng: &rng)),
                                            trajectory: Data((0..<16).map { _ in UInt8(rng.int(256)) }), samplerSeed: rng.next()))
                    groupSnapshots.append(try sampled.map { t in
                        let masked = 1 - Double(t) / Double(totalSteps)
                        let c = 15 + 15 * Double(rng.uniform())
                        var png = try PNGCodec.encode(partial(target, masked: masked, rng: &rng))
                        if corruptOneImage && step == steps && k == groups - 1 && i == 1 && t == sampled[0] { png = Data([0x89, 0x50, 0x4E]) }
                        return SnapshotRecord(step: step, group: k, rollout: i, t: t,
                                              partialText: partialText(finalText, masked: masked, rng: &rng),
                                              partialImagePNG: png, clipScore: c, reward: 0.5 * (1 + min(max((c - 22) / 4, -1), 1)), advantage: 0)
                    })
                }
                // Advantages per sampled step over the group: (R − mean) / (std + 1e-4).
                for j in sampled.indices {
                    let r = groupSnapshots.map { $0[j].reward }
                    let mean = r.reduce(0, +) / Double(g)
                    let std = (r.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(g)).squareRoot()
                    for i in 0..<g { groupSnapshots[i][j].advantage = (r[i] - mean) / (std + 1e-4) }
                }
                ss += groupSnapshots.flatMap { $0 }
            }
            let rewards = ss.map(\.reward)
            let mean = rewards.reduce(0, +) / Double(rewards.count)
            let record = StepRecord(step: step, loss: Double(rng.uniform()) - 0.5, policyLoss: Double(rng.uniform()) - 0.5,
                                    kl: 0.001 * Double(step) * Double(1 + rng.int(3)), rewardMean: mean,
                                    rewardStd: (rewards.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(rewards.count)).squareRoot(),
                                    advantageMean: 0, advantageStd: 1, clipFractionLow: 0.01 * Double(rng.uniform()),
                                    clipFractionHigh: 0.02 * Double(rng.uniform()), fracZeroStd: 0, gradNorm: 1 + Double(rng.uniform()),
                                    lr: 1e-5, skipped: false, outputAlignment: 40 + 30 * Double(rng.uniform()), secondsRollout: 10,
                                    secondsScoring: 1, secondsUpdate: 5, secondsTotal: 16 + Double(step * step))
            let evals = step == steps && finalEvaluation ? [evaluation(step: step, scope: "overall", tasks: 6), evaluation(step: step, scope: "category:spatial", tasks: 1)] : []
            try log.commitStep(runID: runID, step: record, groups: gs, rollouts: rs, snapshots: ss, evaluations: evals)
            out.steps.append(record); out.groups += gs; out.rollouts += rs; out.snapshots += ss; out.evaluations += evals
        }
        if finalEvaluation && rewardEvaluations {
            // The yardstick at step 0 and at the end: 3 tasks × 2 rollouts × t ∈ {1, 2}, rewards in [0, 1].
            for step in [0, steps] {
                var rows: [RewardEvalRolloutRecord] = []
                for task in ["eval-a", "eval-b", "eval-c"] {
                    for rollout in 0..<2 {
                        for t in 1...2 {
                            rows.append(RewardEvalRolloutRecord(step: step, taskID: task, rollout: rollout, t: t, samplerSeed: UInt64(rollout),
                                                                clipScore: 20, reward: Double(rng.uniform())))
                        }
                    }
                }
                let summaries = [1, 2].map { t in
                    RewardEvalRecord(step: step, t: t, tasks: 3, rollouts: 2, clipMean: 20,
                                     rewardMean: rows.filter { $0.t == t }.map(\.reward).reduce(0, +) / 6, rewardStd: 0)
                }
                try log.recordRewardEvaluation(runID: runID, step: step, RewardEvaluationRows(summaries: summaries, rollouts: rows))
                out.rewardRollouts += rows
            }
        }
        try log.finishRun(runID: runID, endedAt: Date(timeIntervalSince1970: 1_790_000_600))
        return out
    }
}
