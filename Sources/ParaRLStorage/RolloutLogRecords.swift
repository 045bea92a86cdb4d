// Rows of the ParaRL rollout log (DESIGN §4). Every row is keyed by (run, step, group, rollout[, sampled step]);
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
    public var lr: Double
    /// The step was skipped (non-finite gradient).
    public var skipped: Bool
    /// Mean output-alignment proxy of the final outputs (the judge's output-alignment axis, 0–100).
    public var outputAlignment: Double
    public var secondsRollout: Double
    public var secondsScoring: Double
    public var secondsUpdate: Double
    public var secondsTotal: Double

    public init(step: Int, loss: Double, policyLoss: Double, kl: Double, rewardMean: Double, rewardStd: Double,
                advantageMean: Double, advantageStd: Double, clipFractionLow: Double, clipFractionHigh: Double,
                fracZeroStd: Double, gradNorm: Double, lr: Double, skipped: Bool, outputAlignment: Double,
                secondsRollout: Double, secondsScoring: Double, secondsUpdate: Double, secondsTotal: Double) {
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
    /// Raw CLIP score c = 100·cos, reward R (Eq. 4), advantage A_{i,t}.
    public var clipScore: Double
    public var reward: Double
    public var advantage: Double

    public init(step: Int, group: Int, rollout: Int, t: Int, partialText: String, partialImagePNG: Data,
                clipScore: Double, reward: Double, advantage: Double) {
        self.step = step; self.group = group; self.rollout = rollout; self.t = t; self.partialText = partialText
        self.partialImagePNG = partialImagePNG; self.clipScore = clipScore; self.reward = reward; self.advantage = advantage
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

/// A complete checkpoint (table `checkpoints`).
public struct CheckpointRecord: Sendable, Equatable, Codable {
    public var step: Int
    public var path: String
    public var createdAt: Date
    public init(step: Int, path: String, createdAt: Date) { self.step = step; self.path = path; self.createdAt = createdAt }
}
