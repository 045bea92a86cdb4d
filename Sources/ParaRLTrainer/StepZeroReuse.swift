// The step-0 evaluations (the judge and the paired reward) depend only on the starting policy, the evaluation
// settings, the seed and μ/σ — not on the objective, s or any training hyper-parameter. The variants of one seed in
// an ablation share them: the first run samples them, the others copy its rows into their own logs instead of
// sampling 300 judge tasks again.
import Foundation
import ParaRLSampling
import ParaRLStorage

/// Step-0 evaluation rows taken from another run of the same start.
public struct StepZeroEvaluations: Sendable {
    public var evaluations: [EvaluationRecord]
    public var rewardRows: RewardEvaluationRows?
    /// The run folder they come from.
    public var source: String
}

/// What the step-0 evaluations depend on; two runs with equal keys have identical step-0 rows.
public struct StepZeroKey: Equatable, Sendable {
    var initCheckpoint: String, seed: UInt64, worldSeed: UInt64, evalTasks: Int, selectTasks: Int, groupSize: Int
    var sampler: SamplerConfig, rewardEval: RewardEvalConfig, clipModel: String, clipText: CLIPTextReading, clipMu: Double, clipSigma: Double

    public init(_ c: ParaRLConfig, calibration: (mu: Double, sigma: Double)) {
        initCheckpoint = c.initCheckpoint; seed = c.seed; worldSeed = c.worldSeed; evalTasks = c.evalTasks; selectTasks = c.selectTasks; groupSize = c.groupSize
        sampler = c.sampler; rewardEval = c.rewardEval; clipModel = c.clipModel; clipText = c.clipText
        clipMu = calibration.mu; clipSigma = calibration.sigma
    }
}

extension AblationPlan {
    /// The step-0 rows of another run of this plan whose `StepZeroKey` equals `trainer`'s (nil when none has them yet).
    public func stepZeroSource(for run: Run, trainer: ParaRLTrainer) throws -> StepZeroEvaluations? {
        let key = StepZeroKey(trainer.config, calibration: (trainer.calibration.mu, trainer.calibration.sigma))
        for other in runs where other.directory != run.directory && other.seed == run.seed {
            let path = other.directory.appendingPathComponent(RolloutLog.fileName).path
            let configURL = other.directory.appendingPathComponent(ParaRLRun.configFile)
            guard FileManager.default.fileExists(atPath: path), FileManager.default.fileExists(atPath: configURL.path) else { continue }
            let log = try RolloutLog(readingAt: path)
            guard let record = try log.runs().first else { continue }
            let config = try ParaRLConfig.load(configURL)
            guard StepZeroKey(config, calibration: (record.clipMu, record.clipSigma)) == key else { continue }
            let evaluations = try log.evaluations(runID: record.runID).filter { $0.step == 0 }
            guard !evaluations.isEmpty || config.evalTasks == 0 else { continue }
            var rewardRows: RewardEvaluationRows?
            if config.rewardEval.enabled {
                let summaries = try log.rewardEvaluations(runID: record.runID).filter { $0.step == 0 }
                let rollouts = try log.rewardEvaluationRollouts(runID: record.runID, step: 0)
                guard !summaries.isEmpty, !rollouts.isEmpty else { continue }
                rewardRows = RewardEvaluationRows(summaries: summaries, rollouts: rollouts)
            }
            return StepZeroEvaluations(evaluations: evaluations, rewardRows: rewardRows, source: other.directory.path)
        }
        return nil
    }
}
