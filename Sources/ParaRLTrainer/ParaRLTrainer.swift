// The ParaRL trainer loop (docs/design.md §3.5–3.7, §4, §5, §8): per step, the rollout phase (G rollouts per prompt, a fresh
// S per group, partial outputs at t ∈ S, batched CLIP scores, Eq. 4 rewards, per-step group advantages), the
// update phase (num_iterations diffusion-GRPO updates on the rebuilt states, k3 KL against the frozen reference,
// gradient clipping, AdamW on warm-up + cosine), one rollout-log transaction, periodic judge evaluations and
// atomic checkpoints. Rank-aware: rank r handles a fixed contiguous share of the groups; every random draw comes
// from (seed, step, global group, rollout), so results do not depend on the number of ranks; gradients are
// summed over ranks (the loss weights already divide by the global batch); rank 0 alone writes and prints.
import Foundation
import ParaRLCLIP
import ParaRLCore
import ParaRLDistributed
import ParaRLPolicy
import ParaRLRunKit
import ParaRLSampling
import ParaRLStorage
import ParaRLWorld

/// One training step's numbers for progress lines (the logged row plus what the line shows besides).
public struct ParaRLStepReport: Sendable {
    public var record: StepRecord
    public var steps: Int
    /// The update statistics of every inner iteration, reduced over ranks (the logged row averages them).
    public var iterations: [UpdateStatistics]
    public var stepsPerSecond: Double
    public var etaSeconds: Double
}

public enum ParaRLEvent: Sendable {
    case step(ParaRLStepReport)
    case evaluation(step: Int, report: JudgeReport, seconds: Double)
    /// The judge on the selection slice (`select_tasks` training-distribution tasks the run never trains on).
    case selection(step: Int, report: JudgeReport, seconds: Double)
    /// The paired reward evaluation of the policy after `summary.step` steps, against step 0.
    case rewardEvaluation(summary: PairedRewardSummary, seconds: Double)
    case checkpoint(step: Int, folder: URL)
}

public final class ParaRLTrainer {
    public let config: ParaRLConfig
    public let runDirectory: URL
    public let communicator: any Communicator
    public let bundle: PolicyBundle
    public var policy: Policy { bundle.policy }
    /// The frozen KL reference (nil when β = 0: no reference pass at all).
    public let reference: Policy?
    public let calibration: CLIPCalibration
    public let runID: String
    /// This rank's groups of every step: global indices [⌊r·P/N⌋, ⌊(r+1)·P/N⌋).
    public let share: Range<Int>
    public internal(set) var step = 0
    /// Test hook: throw `InjectedFailure` in the middle of this step on this rank.
    public var failure: Int?
    /// Step-0 evaluations of another run with the same start (`AblationPlan.stepZeroSource`): logged as this run's
    /// instead of sampling them again (rank 0).
    public var reusedStepZero: StepZeroEvaluations?

    let sampler: ParallelSampler
    let scorer: any PairScorer
    /// The other reward source, logged with weight 0 (nil: `reward_monitor: false`).
    let monitor: (any PairScorer)?
    let reward: CLIPReward
    let objective: DiffusionGRPO
    let likelihood: PolicyLikelihood
    let optimizer: AdamW
    let schedule: CosineSchedule
    let world: WorldTaskSource
    let renderer: SceneRenderer
    let judge: WorldJudge
    let log: RolloutLog?
    /// The paired reward evaluation (nil when `reward_eval.enabled` is false) and, on rank 0, its step-0 rows.
    let rewardEvaluator: RewardEvaluator?
    var rewardBaseline: [RewardEvalRolloutRecord] = []
    let configYAML: String
    /// The sequence layout stored in every checkpoint (with the run's tokenizers) so `PolicyBundle.load` reads it.
    let checkpointLayout: SequenceLayoutFile
    let root: RandomStream
    /// The run folder's lock (rank 0), held while the trainer lives.
    public var lock: RunLock?

    /// Builds a trainer over loaded parts; `ParaRLRun.start`/`resume` are the usual entry points. With `resumeFrom`,
    /// `bundle` must hold that checkpoint's weights (its AdamW and trainer state are read here).
    init(config: ParaRLConfig, runDirectory: URL, bundle: PolicyBundle, reference: Policy?, scorer: any PairScorer, monitor: (any PairScorer)?,
         calibration: CLIPCalibration, checkpointLayout: SequenceLayoutFile, runID: String, resumeFrom checkpoint: URL?,
         codeVersion: String, communicator: any Communicator, configSource: String? = nil) throws {
        self.config = config
        self.runDirectory = runDirectory
        self.bundle = bundle
        self.reference = config.beta == 0 ? nil : reference
        self.scorer = scorer
        self.monitor = monitor
        self.calibration = calibration
        self.checkpointLayout = checkpointLayout
        self.runID = runID
        self.communicator = communicator
        let configFile = configSource ?? runDirectory.appendingPathComponent(ParaRLRun.configFile).path
        guard config.promptsPerStep >= communicator.size else {
            throw TrainerError.invalidConfig(file: configFile, key: "prompts_per_step",
                                             reason: "\(config.promptsPerStep) groups cannot be shared by \(communicator.size) ranks (each needs at least one)")
        }
        share = RankShare.range(of: config.promptsPerStep, rank: communicator.rank, ranks: communicator.size)
        sampler = try bundle.sampler(config: config.sampler)
        reward = CLIPReward(calibration)
        objective = DiffusionGRPO(epsilon: config.epsilon, epsilonHigh: config.epsilonHigh, beta: config.beta)
        likelihood = try PolicyLikelihood(config: bundle.policy.config, length: bundle.layout.length, batch: config.updateBatchSize)
        optimizer = try config.optimizer.adamW(parameters: bundle.policy.model.params)
        // The schedule counts optimiser updates: num_iterations per step. Warm-up starts above zero: the first update
        // trains at lr/(warmup_steps·num_iterations), never at 0.
        schedule = CosineSchedule(peakLR: config.lr, warmupSteps: config.warmupSteps * config.numIterations,
                                  totalSteps: config.steps * config.numIterations, minLRRatio: config.minLRRatio,
                                  warmupCountsCurrentStep: true)
        world = WorldTaskSource(seed: config.worldSeed)
        renderer = SceneRenderer(imageSize: bundle.encoder.image.imageWidth)
        judge = WorldJudge(imageSize: bundle.encoder.image.imageWidth)
        rewardEvaluator = config.rewardEval.enabled
            ? RewardEvaluator(config: config.rewardEval, sampler: config.sampler, seed: config.seed, worldSeed: config.worldSeed,
                              scorer: scorer, monitor: monitor, calibration: calibration)
            : nil
        configYAML = try config.yaml()
        root = RandomStream(seed: config.seed)
        if communicator.isRoot {
            let log = try RolloutLog(path: runDirectory.appendingPathComponent(RolloutLog.fileName).path)
            try log.recordRun(RunRecord(runID: runID, configYAML: configYAML, seed: config.seed, codeVersion: codeVersion,
                                        objective: config.objective.rawValue, sampledSteps: config.effectiveSampledSteps,
                                        clipMu: calibration.mu, clipSigma: calibration.sigma, startedAt: Date()))
            self.log = log
        } else {
            log = nil
        }
        var state = TrainerState(step: 0, dataPosition: 0, rootStream: root.state)
        if let checkpoint, communicator.isRoot {
            // The bundle was loaded from this checkpoint (ParaRLRun.resume): its weights are not read again.
            state = try TrainingCheckpoint.restore(checkpoint, optimizer: optimizer, loadWeights: nil)
            guard state.rootStream == root.state, state.dataPosition == state.step * config.promptsPerStep else {
                throw TrainerError.invalidInput("\(checkpoint.path): the trainer state does not belong to this config (seed or batch differ)")
            }
            try log?.discardSteps(runID: runID, after: state.step)
            // A kill between the checkpoint's rename and its row leaves the row missing: the log lists what resumes.
            if let log, try !log.checkpoints(runID: runID).contains(where: { $0.step == state.step }) {
                try log.recordCheckpoint(runID: runID, CheckpointRecord(step: state.step, path: checkpoint.path, createdAt: Date()))
            }
            rewardBaseline = try log?.rewardEvaluationRollouts(runID: runID, step: 0) ?? []
        }
        if communicator.size > 1 {
            try RootSync.synchronise(parameters: policy.model.params, optimizer: optimizer, state: &state,
                                     optimizerToo: checkpoint != nil, communicator: communicator)
        }
        step = state.step
    }

    // MARK: Streams (all derived from (seed, step, global group, rollout))

    /// S of group g at `step` (S = {T} for the output level).
    public func sampledSteps(step: Int, group g: Int) -> [Int] {
        if config.objective == .output { return SampledSteps.outputLevel(steps: config.sampler.steps) }
        var rng = root.split("sampled-steps").split(step).split(g)
        return SampledSteps.draw(config.sampledSteps, of: config.sampler.steps, rng: &rng)
    }

    /// The sampler seed of rollout i of group g at `step`.
    public func samplerSeed(step: Int, group g: Int, rollout i: Int) -> UInt64 {
        root.split("sampler").split(step).split(g).split(i).key
    }

    func outputMaskStream(step: Int, group g: Int, rollout i: Int) -> RandomStream {
        root.split("output-mask").split(step).split(g).split(i)
    }

    /// The training task of group g at `step` (data position step·P + g).
    public func task(step: Int, group g: Int) -> WorldTask { world.trainTask(index: step * config.promptsPerStep + g) }

    // MARK: Training

    /// Trains until `until` steps (default the config's) are complete: evaluation before training (step 0), every
    /// `eval_every` steps and at the end; a checkpoint every `checkpoint_every` steps and where training stops. After a
    /// stop request (`StopSignal`: SIGINT/SIGTERM) the step in progress finishes, is checkpointed, and `StopRequested` is
    /// thrown.
    public func train(until: Int? = nil, onEvent: (ParaRLEvent) -> Void = { _ in }) throws {
        let target = min(until ?? config.steps, config.steps)
        var throughput = Throughput(firstStep: step)
        let isRoot = communicator.isRoot
        if step == 0 && target > 0, let reused = reusedStepZero {
            if isRoot {
                try log?.recordEvaluations(runID: runID, reused.evaluations)
                if let rows = reused.rewardRows {
                    try log?.recordRewardEvaluation(runID: runID, step: 0, rows)
                    rewardBaseline = rows.rollouts
                }
            }
        } else if step == 0 && target > 0 {
            if config.evalTasks > 0, let (evaluations, report, seconds) = try evaluate(step: 0) {
                try log?.recordEvaluations(runID: runID, evaluations)
                onEvent(.evaluation(step: 0, report: report, seconds: seconds))
            }
            if config.selectTasks > 0, let (evaluations, report, seconds) = try evaluateSelection(step: 0) {
                try log?.recordEvaluations(runID: runID, evaluations)
                onEvent(.selection(step: 0, report: report, seconds: seconds))
            }
            if let (rows, summary, seconds) = try evaluateReward(step: 0) {
                try log?.recordRewardEvaluation(runID: runID, step: 0, rows)
                onEvent(.rewardEvaluation(summary: summary, seconds: seconds))
            }
            throughput = Throughput(firstStep: step)  // steps/s and the ETA count training steps, not the step-0 evaluations
        }
        while step < target {
            let outcome = try trainStep()
            let (record, iterations) = (outcome.record, outcome.iterations)
            step += 1
            let last = step == config.steps
            var evaluations: [EvaluationRecord] = []
            var evaluated: (JudgeReport, Double)?
            let evaluationStep = (config.evalEvery > 0 && step % config.evalEvery == 0) || last
            if config.evalTasks > 0 && evaluationStep, let (e, report, seconds) = try evaluate(step: step) {
                evaluations = e
                evaluated = (report, seconds)
            }
            var selected: (JudgeReport, Double)?
            if config.selectTasks > 0 && evaluationStep, let (e, report, seconds) = try evaluateSelection(step: step) {
                evaluations += e
                selected = (report, seconds)
            }
            var rewardEvaluated: (RewardEvaluationRows, PairedRewardSummary, Double)?
            let every = config.rewardEval.interval(evalEvery: config.evalEvery)
            if (every > 0 && step % every == 0) || last { rewardEvaluated = try evaluateReward(step: step) }
            try log?.commitStep(runID: runID, step: record, groups: outcome.groups, rollouts: outcome.rollouts, snapshots: outcome.snapshots,
                                evaluations: evaluations, rewardEvaluation: rewardEvaluated?.0)
            if isRoot {
                onEvent(.step(ParaRLStepReport(record: record, steps: config.steps, iterations: iterations,
                                               stepsPerSecond: throughput.rate(step: step),
                                               etaSeconds: throughput.eta(step: step, of: config.steps))))
                if let (report, seconds) = evaluated { onEvent(.evaluation(step: step, report: report, seconds: seconds)) }
                if let (report, seconds) = selected { onEvent(.selection(step: step, report: report, seconds: seconds)) }
                if let (_, summary, seconds) = rewardEvaluated { onEvent(.rewardEvaluation(summary: summary, seconds: seconds)) }
            }
            let stopping = try StopSignal.agreed(communicator) && step < target
            if step % config.checkpointEvery == 0 || last || step == target || stopping {
                let folder = try saveCheckpoint()
                if isRoot { onEvent(.checkpoint(step: step, folder: folder)) }
                if stopping { throw StopRequested(step: step, checkpoint: folder, signal: StopSignal.signalNumber) }
            }
        }
        if step == config.steps { try log?.finishRun(runID: runID, endedAt: Date()) }
    }

    struct RankRecords: Codable { var groups: [GroupRecord], rollouts: [RolloutRecord], snapshots: [SnapshotRecord] }

    /// Every rank's rows on rank 0, in global group order (empty on the other ranks).
    func gatherRecords(_ g: [GroupRecord], _ r: [RolloutRecord], _ s: [SnapshotRecord]) throws
        -> ([GroupRecord], [RolloutRecord], [SnapshotRecord]) {
        guard communicator.size > 1 else { return (g, r, s) }
        let parts = try communicator.gather(try PropertyListEncoder().encode(RankRecords(groups: g, rollouts: r, snapshots: s)), root: 0)
        var all = RankRecords(groups: [], rollouts: [], snapshots: [])
        for data in parts {
            let p = try PropertyListDecoder().decode(RankRecords.self, from: data)
            all.groups += p.groups; all.rollouts += p.rollouts; all.snapshots += p.snapshots
        }
        return (all.groups, all.rollouts, all.snapshots)
    }

    // MARK: Evaluation and checkpoints

    /// The judge's six axes on `eval_tasks` tasks spread over the evaluation split (rank 0 samples them; the others
    /// wait). Returns nil on the other ranks.
    func evaluate(step: Int) throws -> ([EvaluationRecord], JudgeReport, Double)? {
        defer { try? communicator.barrier() }
        guard communicator.isRoot else { return nil }
        let tasks = PolicyEvaluator.evalTasks(worldSeed: config.worldSeed, limit: config.evalTasks)
        let evaluator = try PolicyEvaluator(bundle: bundle, config: config.sampler, batchSize: config.groupSize)
        let result = try evaluator.evaluate(tasks, seed: config.seed)
        return (Self.evaluationRecords(step: step, result), result.report, result.seconds)
    }

    /// The judge on the selection slice (rank 0; nil on the others), logged as one row of scope `selection`.
    func evaluateSelection(step: Int) throws -> ([EvaluationRecord], JudgeReport, Double)? {
        defer { try? communicator.barrier() }
        guard communicator.isRoot else { return nil }
        let tasks = PolicyEvaluator.selectionTasks(worldSeed: config.worldSeed, count: config.selectTasks)
        let evaluator = try PolicyEvaluator(bundle: bundle, config: config.sampler, batchSize: config.groupSize)
        let result = try evaluator.evaluate(tasks, seed: config.seed)
        let overall = Self.evaluationRecords(step: step, result).filter { $0.scope == "overall" }.map { row -> EvaluationRecord in
            var r = row
            r.scope = Self.selectionScope
            return r
        }
        return (overall, result.report, result.seconds)
    }

    /// The evaluation scope of the selection slice's rows.
    public static let selectionScope = "selection"

    /// The paired reward evaluation of the current policy (rank 0 samples; the others wait and get nil), paired
    /// with step 0's rows.
    func evaluateReward(step: Int) throws -> (RewardEvaluationRows, PairedRewardSummary, Double)? {
        guard let rewardEvaluator else { return nil }
        defer { try? communicator.barrier() }
        guard communicator.isRoot else { return nil }
        let start = Date()
        let rows = try rewardEvaluator.evaluate(bundle, step: step)
        if step == 0 { rewardBaseline = rows.rollouts }
        guard let summary = PairedReward.summary(step: step, rows.rollouts,
                                                 baseline: rewardBaseline.isEmpty ? nil : (0, rewardBaseline)) else { return nil }
        return (rows, summary, Date().timeIntervalSince(start))
    }

    /// Overall, per category and per kind rows of an evaluation.
    public static func evaluationRecords(step: Int, _ e: PolicyEvaluation) -> [EvaluationRecord] {
        func row(_ scope: String, _ s: JudgeScores, _ n: Int) -> EvaluationRecord {
            EvaluationRecord(step: step, scope: scope, tasks: n, textQuality: s.textQuality, textAlignment: s.textAlignment,
                             imageConsistency: s.imageConsistency, imageAlignment: s.imageAlignment, imageQuality: s.imageQuality,
                             outputAlignment: s.outputAlignment, overall: s.overall)
        }
        let judged = e.tasks.map(\.judgement)
        var rows = [row("overall", e.report.overall, judged.count)]
        for (c, s) in e.report.byCategory.sorted(by: { $0.key < $1.key }) {
            rows.append(row("category:\(c)", s, judged.filter { $0.category == c }.count))
        }
        for (k, s) in e.report.byKind.sorted(by: { $0.key < $1.key }) {
            rows.append(row("kind:\(k)", s, judged.filter { $0.kind.rawValue == k }.count))
        }
        return rows
    }

    /// Writes the checkpoint of the current step (rank 0; the others return its folder).
    @discardableResult
    public func saveCheckpoint() throws -> URL {
        defer { try? communicator.barrier() }
        guard communicator.isRoot else { return TrainingCheckpoint.folder(runDirectory: runDirectory, step: step) }
        let state = TrainerState(step: step, dataPosition: step * config.promptsPerStep, rootStream: root.state)
        let folder = try TrainingCheckpoint.write(runDirectory: runDirectory, model: policy, optimizer: optimizer, state: state,
                                                  files: [(name: SequenceLayoutFile.fileName, data: try checkpointLayout.data())],
                                                  keep: config.keepCheckpoints)
        try log?.recordCheckpoint(runID: runID, CheckpointRecord(step: step, path: folder.path, createdAt: Date()),
                                  kept: try TrainingCheckpoint.completed(runDirectory: runDirectory).map(\.step))
        return folder
    }
}
