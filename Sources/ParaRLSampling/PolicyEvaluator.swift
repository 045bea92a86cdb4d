// Evaluation of a policy on world tasks: one rollout per task (batched across tasks), decoded to reasoning text and
// image, scored by the world's exact judge on ParaBench's six axes, summarised overall / per category / per kind.
import Foundation
import ParaRLCore
import ParaRLMedia
import ParaRLPolicy
import ParaRLWorld

/// Where an evaluation is, for progress lines.
public struct EvaluationProgress: Sendable {
    public var done: Int
    public var total: Int
    /// Rollout-steps so far (rollouts × T).
    public var rolloutSteps: Int
    public var seconds: Double
    public var rolloutsPerSecond: Double { seconds > 0 ? Double(done) / seconds : 0 }
    public var etaSeconds: Double { done > 0 ? seconds * Double(total - done) / Double(done) : 0 }
}

/// One task's prediction and its judgement.
public struct EvaluatedTask: Sendable {
    public var task: WorldTask
    public var reasoning: String
    public var image: RGBImage
    public var judgement: TaskJudgement
    public var rollout: Rollout
}

public struct PolicyEvaluation: Sendable {
    public var tasks: [EvaluatedTask]
    public var report: JudgeReport
    /// Sampling and judging wall time.
    public var seconds: Double
    public var rolloutSteps: Int
}

public struct PolicyEvaluator {
    public let bundle: PolicyBundle
    public let config: SamplerConfig
    /// Tasks sampled together in one batch.
    public let batchSize: Int
    public let judge: WorldJudge

    public init(bundle: PolicyBundle, config: SamplerConfig, batchSize: Int = 8) throws {
        guard batchSize >= 1 else { throw SamplingError.invalidInput("the evaluation batch size must be at least 1, got \(batchSize)") }
        self.bundle = bundle
        self.config = config
        self.batchSize = batchSize
        judge = WorldJudge(imageSize: bundle.encoder.image.imageWidth)
    }

    /// The sampler seed of a task: a child of `seed` labelled by the task id, so a task gets the same rollout in any
    /// slice or batch of the split.
    public static func seed(for taskID: String, seed: UInt64) -> UInt64 { RandomStream(seed: seed).split(taskID).key }

    /// The world's evaluation split for `worldSeed`, or `limit` tasks spread evenly over it (every category kept).
    public static func evalTasks(worldSeed: UInt64 = 0, limit: Int? = nil) -> [WorldTask] {
        let all = WorldTaskSource(seed: worldSeed).evalTasks
        guard let limit, limit < all.count else { return all }
        let n = max(0, limit)
        return (0..<n).map { all[$0 * all.count / n] }
    }

    /// The first training task of the selection slice: far beyond any training run's prompts (RL reads task
    /// step·prompts + g, SFT its dataset's, `pararl clip samples` 100,000 on).
    public static let selectionTaskOffset = 9_000_000

    /// The selection slice: `count` training-distribution tasks no run trains on (`selectionTaskOffset` on).
    public static func selectionTasks(worldSeed: UInt64 = 0, count: Int) -> [WorldTask] {
        WorldTaskSource(seed: worldSeed).trainTasks(selectionTaskOffset..<(selectionTaskOffset + max(0, count)))
    }

    /// Samples, decodes and judges `tasks`. `progress` is called after every batch.
    public func evaluate(_ tasks: [WorldTask], seed: UInt64, progress: ((EvaluationProgress) -> Void)? = nil) throws -> PolicyEvaluation {
        let sampler = try bundle.sampler(config: config)
        let start = Date()
        var out: [EvaluatedTask] = []
        out.reserveCapacity(tasks.count)
        var rolloutSteps = 0
        var first = 0
        while first < tasks.count {
            let batch = Array(tasks[first..<min(tasks.count, first + batchSize)])
            first += batch.count
            let prompts = try batch.map(bundle.prompt)
            let rollouts = try sampler.sample(prompts: prompts, seeds: batch.map { Self.seed(for: $0.id, seed: seed) }, recordSteps: [])
            rolloutSteps += rollouts.count * config.steps
            for (task, rollout) in zip(batch, rollouts) {
                let (reasoning, image) = try bundle.decode(rollout)
                let judgement = judge.judge(JudgeReference(task), reasoning: reasoning, image: image)
                out.append(EvaluatedTask(task: task, reasoning: reasoning, image: image, judgement: judgement, rollout: rollout))
            }
            progress?(EvaluationProgress(done: out.count, total: tasks.count, rolloutSteps: rolloutSteps,
                                         seconds: Date().timeIntervalSince(start)))
        }
        return PolicyEvaluation(tasks: out, report: JudgeReport(out.map(\.judgement)), seconds: Date().timeIntervalSince(start),
                                rolloutSteps: rolloutSteps)
    }
}
