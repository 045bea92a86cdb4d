// The paired reward evaluation of docs/design.md §3.7a: a fixed set of held-out tasks (spread over the evaluation split's
// categories), G rollouts each with sampler seeds that depend only on (run seed, task, rollout) — never on the
// training step — and their partial outputs at a fixed grid of steps t scored with the run's CLIP, μ and σ (Eq. 4).
// Every evaluation of every checkpoint sees the same prompts and the same noise, so differences are paired.
import Foundation
import ParaRLCLIP
import ParaRLCore
import ParaRLMedia
import ParaRLSampling
import ParaRLStorage
import ParaRLWorld

/// The `reward_eval:` section of a run config.
public struct RewardEvalConfig: Codable, Sendable, Equatable {
    /// Run it before training (step 0), every `every` steps and at the end (false: never).
    public var enabled = true
    /// Held-out tasks, spread evenly over the 300-task evaluation split (so every category is in): 16 gives a
    /// standard error of the paired change of ~0.01 for the tiny policy at ~1 min per evaluation.
    public var tasks = 16
    /// Rollouts per task, sampled as one batch (4: the per-task mean is steady enough to pair).
    public var rollouts = 4
    /// The steps t whose partial outputs are scored; null = every t in 1..T (R depends strongly on t).
    public var steps: [Int]?
    /// Evaluate every this many training steps; null = the run's `eval_every` (0 there: only at step 0 and the end).
    public var every: Int?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case enabled, tasks, rollouts, steps, every
    }
    public init() {}

    public static var keyNames: [String] { CodingKeys.allCases.map(\.rawValue) }

    /// Largest rollouts per task accepted (one batch per task).
    public static let maxRollouts = 64

    /// The grid of t, ascending, for T sampler steps.
    public func grid(samplerSteps T: Int) -> [Int] { steps.map { Array(Set($0)).sorted() } ?? Array(1...max(1, T)) }

    /// The evaluation interval for a run whose judge evaluates every `evalEvery` steps.
    public func interval(evalEvery: Int) -> Int { every ?? evalEvery }

    public func validate(source: String, samplerSteps T: Int) throws {
        func check(_ ok: Bool, _ key: CodingKeys, _ reason: String) throws {
            if !ok { throw TrainerError.invalidConfig(file: source, key: "reward_eval." + key.rawValue, reason: reason) }
        }
        let split = WorldTaskSource.evalCounts.reduce(0) { $0 + $1.1 }
        try check(tasks >= 1 && tasks <= split, .tasks, "must be 1…\(split) (the evaluation split's size), got \(tasks)")
        try check(rollouts >= 1 && rollouts <= Self.maxRollouts, .rollouts, "must be 1…\(Self.maxRollouts), got \(rollouts)")
        if let steps {
            try check(!steps.isEmpty, .steps, "must list at least one step t (or be null: every t in 1..T)")
            if let bad = steps.first(where: { !(1...T).contains($0) }) {
                try check(false, .steps, "t = \(bad) is outside 1..T (T = \(T), the sampler's steps)")
            }
        }
        if let every { try check(every >= 1, .every, "must be at least 1 (or null: the run's eval_every), got \(every)") }
    }
}

/// Scores any policy on the fixed tasks and seeds of a run's `reward_eval` config.
public struct RewardEvaluator {
    /// The tasks with their index in the evaluation split (the index names the seeds).
    public let tasks: [(index: Int, task: WorldTask)]
    public let grid: [Int]
    public let rollouts: Int
    public let seed: UInt64
    let sampler: SamplerConfig
    let scorer: any PairScorer
    /// The other reward source, scored beside with weight 0 (nil: none).
    let monitor: (any PairScorer)?
    let reward: CLIPReward

    public init(config: RewardEvalConfig, sampler: SamplerConfig, seed: UInt64, worldSeed: UInt64, scorer: any PairScorer,
                monitor: (any PairScorer)? = nil, calibration: CLIPCalibration) {
        let all = WorldTaskSource(seed: worldSeed).evalTasks
        let n = min(config.tasks, all.count)
        tasks = (0..<n).map { j in let i = j * all.count / n; return (i, all[i]) }
        grid = config.grid(samplerSteps: sampler.steps)
        rollouts = config.rollouts
        self.seed = seed
        self.sampler = sampler
        self.scorer = scorer
        self.monitor = monitor
        reward = CLIPReward(calibration)
    }

    /// The sampler seed of rollout `rollout` of the evaluation task with split index `task`: a function of the
    /// run seed, the task and the rollout only.
    public static func samplerSeed(seed: UInt64, task: Int, rollout: Int) -> UInt64 {
        RandomStream(seed: seed).split("reward-eval").split(task).split(rollout).key
    }

    /// The rows of `bundle`'s evaluation, labelled `step`. `progress` is called after every task.
    public func evaluate(_ bundle: PolicyBundle, step: Int, progress: ((Int, Int) -> Void)? = nil) throws -> RewardEvaluationRows {
        let sampler = try bundle.sampler(config: self.sampler)
        var rows: [RewardEvalRolloutRecord] = []
        for (done, (index, task)) in tasks.enumerated() {
            let seeds = (0..<rollouts).map { Self.samplerSeed(seed: seed, task: index, rollout: $0) }
            let sampled = try sampler.sample(try bundle.prompt(task), seeds: seeds, recordSteps: Set(grid))
            var texts: [String] = [], images: [RGBImage] = []
            for rollout in sampled {
                guard rollout.partials.map(\.step) == grid else {
                    throw TrainerError.invalidInput("the sampler returned partial outputs at \(rollout.partials.map(\.step)), not at \(grid)")
                }
                for partial in rollout.partials {
                    let (text, image) = try bundle.decode(partial)
                    texts.append(text); images.append(image)
                }
            }
            let complete = (0..<rollouts).flatMap { _ in grid.map { $0 == self.sampler.steps } }
            let scores = try scorer.pairScores(texts: texts, images: images, complete: complete)
            let monitored = try monitor?.pairScores(texts: texts, images: images, complete: complete)
            for i in 0..<rollouts {
                for (k, t) in grid.enumerated() {
                    let c = Double(scores[i * grid.count + k])
                    rows.append(RewardEvalRolloutRecord(step: step, taskID: task.id, rollout: i, t: t, samplerSeed: seeds[i],
                                                        clipScore: c, reward: reward.reward(score: c),
                                                        monitorScore: monitored.map { Double($0[i * grid.count + k]) }))
                }
            }
            progress?(done + 1, tasks.count)
        }
        return RewardEvaluationRows(step: step, rollouts: rows)
    }
}

extension RewardEvaluator {
    /// The evaluator of the run config at `configURL` (paths relative to its folder; a run folder's config.yaml holds
    /// absolute ones) and the μ/σ it scores with: `calibration` when given (e.g. a run's clip_calibration.json), else
    /// the config's `calibration:` file, else — `calibration: rollouts` — estimated from the initial policy's partial
    /// rollouts exactly as a run's start does.
    public static func load(configURL: URL, calibration given: CLIPCalibration? = nil) throws -> (RewardEvaluator, CLIPCalibration) {
        let config = try ParaRLRun.resolvingPaths(try ParaRLConfig.load(configURL), configURL: configURL)
        let scorer = try ParaRLRun.rewardScorer(config, file: configURL.path)
        let monitor = try ParaRLRun.monitorScorer(config, file: configURL.path)
        let calibration: CLIPCalibration
        if let given {
            calibration = given
        } else {
            let bundle = try ParaRLRun.loadBundle(URL(fileURLWithPath: config.initCheckpoint), key: "init_checkpoint", file: configURL.path)
            calibration = try RunCalibration.forRun(config, bundle: bundle, scorer: { scorer }, file: configURL.path)
        }
        let evaluator = RewardEvaluator(config: config.rewardEval, sampler: config.sampler, seed: config.seed,
                                        worldSeed: config.worldSeed, scorer: scorer, monitor: monitor, calibration: calibration)
        return (evaluator, calibration)
    }
}
