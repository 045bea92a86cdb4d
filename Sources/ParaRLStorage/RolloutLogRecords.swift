// Rows of the ParaRL rollout log (docs/design.md §4). Every row is keyed by (run, step, group, rollout[, sampled step]);
// these plain values are what the trainer writes and what `pararl inspect` / `pararl report` read.
import Foundation

/// One training run (table `runs`).
public struct RunRecord: Sendable, Equatable, Codable {
    public var runID: String
    /// The resolved config as YAML (every key, defaults filled in).
    public var configYAML: String
    public var seed: UInt64
    public var codeVersion: String
    /// `trajectory` or `output`.
    public var objective: String
    /// s, the number of sampled steps per group (1 for the output-level objective).
    public var sampledSteps: Int
    /// μ_CLIP and σ_CLIP of the reward (Eq. 4).
    public var clipMu: Double
    public var clipSigma: Double
    public var startedAt: Date
    public var endedAt: Date?

    public init(runID: String, configYAML: String, seed: UInt64, codeVersion: String, objective: String, sampledSteps: Int,
                clipMu: Double, clipSigma: Double, startedAt: Date, endedAt: Date? = nil) {
        self.runID = runID; self.configYAML = configYAML; self.seed = seed; self.codeVersion = codeVersion
        self.objective = objective; self.sampledSteps = sampledSteps; self.clipMu = clipMu; self.clipSigma = clipSigma
        self.startedAt = startedAt; self.endedAt = endedAt
    }
}

/// One optimiser step (table `steps`).
public struct StepRecord: Sendable, Equatable, Codable {
    public var step: Int
    public var loss: Double
    public var policyLoss: Double
    public var kl: Double
    public var rewardMean: Double
    public var rewardStd: Double
    public var advantageMean: Double
    public var advantageStd: Double
    /// Share of tokens whose ratio was clipped below 1−ε (with A < 0) and above 1+ε_high (with A > 0).
    public var clipFractionLow: Double
    public var clipFractionHigh: Double
    /// Share of (group, sampled step) pairs whose rewards were all equal (A = 0 there).
    public var fracZeroStd: Double
    public var gradNorm: Double
    /// The learning rate of the step's last optimiser update.
    public var lr: Double
    /// The step was skipped (non-finite gradient).
    public var skipped: Bool
    /// Mean output-alignment proxy of the final outputs (the judge's output-alignment axis, 0–100).
    public var outputAlignment: Double
    public var secondsRollout: Double
    public var secondsScoring: Double
    public var secondsUpdate: Double
    public var secondsTotal: Double
    /// Mean and max of |ρ − 1| over every scored token of every inner iteration (NaN in logs written before these
    /// columns existed). ρ = 1 in value at the first iteration, so with num_iterations = 1 both are ~0.
    public var ratioDeviationMean: Double
    public var ratioDeviationMax: Double
    /// Mean raw score of the reward monitor (the other reward source, weight 0) over the step's snapshots; nil when
    /// the run logs no monitor (and in logs written before it).
    public var monitorMean: Double?

    public init(step: Int, loss: Double, policyLoss: Double, kl: Double, rewardMean: Double, rewardStd: Double,
                advantageMean: Double, advantageStd: Double, clipFractionLow: Double, clipFractionHigh: Double,
                fracZeroStd: Double, gradNorm: Double, lr: Double, skipped: Bool, outputAlignment: Double,
                secondsRollout: Double, secondsScoring: Double, secondsUpdate: Double, secondsTotal: Double,
                ratioDeviationMean: Double = 0, ratioDeviationMax: Double = 0, monitorMean: Double? = nil) {
        self.ratioDeviationMean = ratioDeviationMean; self.ratioDeviationMax = ratioDeviationMax; self.monitorMean = monitorMean
        self.step = step; self.loss = loss; self.policyLoss = policyLoss; self.kl = kl; self.rewardMean = rewardMean
        self.rewardStd = rewardStd; self.advantageMean = advantageMean; self.advantageStd = advantageStd
        self.clipFractionLow = clipFractionLow; self.clipFractionHigh = clipFractionHigh; self.fracZeroStd = fracZeroStd
        self.gradNorm = gradNorm; self.lr = lr; self.skipped = skipped; self.outputAlignment = outputAlignment
        self.secondsRollout = secondsRollout; self.secondsScoring = secondsScoring; self.secondsUpdate = secondsUpdate
        self.secondsTotal = secondsTotal
    }
}

/// One prompt and its G rollouts (table `groups`).
public struct GroupRecord: Sendable, Equatable, Codable {
    public var step: Int
    public var group: Int
    public var taskID: String
    /// `edit` or `generate`.
    public var kind: String
    /// The world's category (spatial, temporal, causal, world knowledge, general, generation).
    public var category: String
    public var instruction: String
    /// The input image as PNG (editing tasks).
    public var inputImagePNG: Data?
    /// S, the sampled steps of this group, ascending.
    public var sampledSteps: [Int]

    public init(step: Int, group: Int, taskID: String, kind: String, category: String, instruction: String,
                inputImagePNG: Data?, sampledSteps: [Int]) {
        self.step = step; self.group = group; self.taskID = taskID; self.kind = kind; self.category = category
        self.instruction = instruction; self.inputImagePNG = inputImagePNG; self.sampledSteps = sampledSteps
    }
}

/// One trajectory (table `rollouts`).
public struct RolloutRecord: Sendable, Equatable, Codable {
    public var step: Int
    public var group: Int
    public var rollout: Int
    public var finalText: String
    public var finalImagePNG: Data
    /// The encoded trajectory record (ParaRLSampling's `TrajectoryRecord`, binary encoding).
    public var trajectory: Data
    public var samplerSeed: UInt64

    public init(step: Int, group: Int, rollout: Int, finalText: String, finalImagePNG: Data, trajectory: Data, samplerSeed: UInt64) {
        self.step = step; self.group = group; self.rollout = rollout; self.finalText = finalText
        self.finalImagePNG = finalImagePNG; self.trajectory = trajectory; self.samplerSeed = samplerSeed
    }
}

/// One rollout at one sampled step t (table `snapshots`).
public struct SnapshotRecord: Sendable, Equatable, Codable {
    public var step: Int
    public var group: Int
    public var rollout: Int
    /// The sampled denoising step t ∈ S.
    public var t: Int
    public var partialText: String
    public var partialImagePNG: Data
    /// Raw score c of the run's reward model (CLIP: 100·cos; the world reward: 100 × scene similarity), reward R
    /// (Eq. 4), advantage A_{i,t}.
    public var clipScore: Double
    public var reward: Double
    public var advantage: Double
    /// Raw score of the reward monitor (the other reward source, weight 0); nil without one.
    public var monitorScore: Double?

    public init(step: Int, group: Int, rollout: Int, t: Int, partialText: String, partialImagePNG: Data,
                clipScore: Double, reward: Double, advantage: Double, monitorScore: Double? = nil) {
        self.step = step; self.group = group; self.rollout = rollout; self.t = t; self.partialText = partialText
        self.partialImagePNG = partialImagePNG; self.clipScore = clipScore; self.reward = reward; self.advantage = advantage
        self.monitorScore = monitorScore
    }
}

/// The judge's six axes (0–100) on an evaluation slice at a step (table `evaluations`).
public struct EvaluationRecord: Sendable, Equatable, Codable {
    public var step: Int
    /// `overall`, `category:<name>` or `kind:<edit|generate>`.
    public var scope: String
    public var tasks: Int
    public var textQuality: Double
    public var textAlignment: Double
    /// Mean over editing tasks; nil when the slice has none.
    public var imageConsistency: Double?
    public var imageAlignment: Double
    public var imageQuality: Double
    public var outputAlignment: Double
    public var overall: Double

    public init(step: Int, scope: String, tasks: Int, textQuality: Double, textAlignment: Double, imageConsistency: Double?,
                imageAlignment: Double, imageQuality: Double, outputAlignment: Double, overall: Double) {
        self.step = step; self.scope = scope; self.tasks = tasks; self.textQuality = textQuality
        self.textAlignment = textAlignment; self.imageConsistency = imageConsistency; self.imageAlignment = imageAlignment
        self.imageQuality = imageQuality; self.outputAlignment = outputAlignment; self.overall = overall
    }
}

/// The paired reward evaluation of one checkpoint at one denoising step t (table `reward_evals`): the fixed
/// held-out tasks, their fixed sampler seeds, the partial outputs at t scored with the run's CLIP, μ and σ.
public struct RewardEvalRecord: Sendable, Equatable, Codable {
    /// The training step of the evaluated policy (0 = the starting policy).
    public var step: Int
    public var t: Int
    public var tasks: Int
    /// Rollouts per task.
    public var rollouts: Int
    /// Mean raw CLIP score c, mean reward R (Eq. 4) and the population std of R over every rollout of every task.
    public var clipMean: Double
    public var rewardMean: Double
    public var rewardStd: Double
    /// Mean raw score of the reward monitor; nil without one.
    public var monitorMean: Double?

    public init(step: Int, t: Int, tasks: Int, rollouts: Int, clipMean: Double, rewardMean: Double, rewardStd: Double,
                monitorMean: Double? = nil) {
        self.step = step; self.t = t; self.tasks = tasks; self.rollouts = rollouts
        self.clipMean = clipMean; self.rewardMean = rewardMean; self.rewardStd = rewardStd; self.monitorMean = monitorMean
    }

    enum CodingKeys: String, CodingKey {
        case step, t, tasks, rollouts, clipMean = "clip_mean", rewardMean = "reward_mean", rewardStd = "reward_std"
        case monitorMean = "monitor_mean"
    }
}

/// One rollout of the paired reward evaluation at one t (table `reward_eval_rollouts`).
public struct RewardEvalRolloutRecord: Sendable, Equatable, Codable {
    public var step: Int
    public var taskID: String
    public var rollout: Int
    public var t: Int
    /// Depends only on (run seed, task, rollout): the same for every evaluated checkpoint.
    public var samplerSeed: UInt64
    public var clipScore: Double
    public var reward: Double
    /// Raw score of the reward monitor; nil without one.
    public var monitorScore: Double?

    public init(step: Int, taskID: String, rollout: Int, t: Int, samplerSeed: UInt64, clipScore: Double, reward: Double,
                monitorScore: Double? = nil) {
        self.step = step; self.taskID = taskID; self.rollout = rollout; self.t = t; self.samplerSeed = samplerSeed
        self.clipScore = clipScore; self.reward = reward; self.monitorScore = monitorScore
    }

    enum CodingKeys: String, CodingKey {
        case step, taskID = "task_id", rollout = "rollout_index", t, samplerSeed = "sampler_seed", clipScore = "clip_score", reward
        case monitorScore = "monitor_score"
    }
}

/// A complete checkpoint (table `checkpoints`).
public struct CheckpointRecord: Sendable, Equatable, Codable {
    public var step: Int
    public var path: String
    public var createdAt: Date
    public init(step: Int, path: String, createdAt: Date) { self.step = step; self.path = path; self.createdAt = createdAt }
}

/// A checkpoint's paired reward evaluation as rows: one summary per t, one row per (task, rollout, t).
public struct RewardEvaluationRows: Sendable, Equatable {
    public var summaries: [RewardEvalRecord]
    public var rollouts: [RewardEvalRolloutRecord]
    public init(summaries: [RewardEvalRecord], rollouts: [RewardEvalRolloutRecord]) {
        self.summaries = summaries; self.rollouts = rollouts
    }
}

/// One measure of a reward source's agreement with the judge on a checkpoint's outputs (table `reward_agreements`,
/// `pararl reward-agreement --run`): a judge axis on the final outputs, or "t=K" (the score at t = K against the
/// final output alignment).
public struct RewardAgreementRecord: Sendable, Equatable, Codable {
    /// The checkpoint's training step (0 = the starting policy).
    public var step: Int
    /// `clip (FOLDER)` or `world`.
    public var source: String
    public var measure: String
    public var tasks: Int
    public var rollouts: Int
    public var pooledSpearman: Double?
    public var withinTaskSpearman: Double?
    public var withinTaskCount: Int
    public var concordance: Double?
    public var pairs: Int

    public init(step: Int, source: String, measure: String, tasks: Int, rollouts: Int, pooledSpearman: Double?,
                withinTaskSpearman: Double?, withinTaskCount: Int, concordance: Double?, pairs: Int) {
        self.step = step; self.source = source; self.measure = measure; self.tasks = tasks; self.rollouts = rollouts
        self.pooledSpearman = pooledSpearman; self.withinTaskSpearman = withinTaskSpearman; self.withinTaskCount = withinTaskCount
        self.concordance = concordance; self.pairs = pairs
    }
}
