// The SFT loop (docs/design.md §3.3): per step B samples from the data position, per sample t ~ U(eps, 1], text /
// image condition dropout, masking, the modality-weighted objective, global-norm clipping, AdamW on a
// warm-up + cosine schedule; held-out loss and masked-token accuracy per modality, SQLite metrics, atomic
// checkpoints, and resume that continues bit-exactly (all state is the weights, the AdamW moments, the step,
// the data position and the masking stream). Data-parallel over a `Communicator` (docs/design.md §5): each rank
// takes a fixed contiguous share of every batch, whose random draws come from (seed, global sample index),
// so any number of ranks sees the same samples; gradients and metrics are summed in rank order.
import Foundation
import ParaRLCore
import ParaRLDistributed
import ParaRLPolicy
import ParaRLRunKit

/// One training step's numbers, for progress lines and the log.
public struct SFTStepReport: Sendable {
    public var step: Int, steps: Int
    public var result: SFTLossResult
    public var gradNorm: Double, lr: Double
    public var skipped: Bool
    /// Samples of this step whose instruction or reasoning was cut to the layout.
    public var truncated: Int
    public var seconds: Double
    /// Steps per second in this process so far, and the estimated seconds left.
    public var stepsPerSecond: Double, etaSeconds: Double
}

public enum SFTEvent: Sendable {
    case step(SFTStepReport)
    case evaluation(step: Int, result: SFTLossResult, samples: Int)
    case checkpoint(step: Int, folder: URL)
}

public final class SFTTrainer {
    public let config: SFTConfig
    public let runDirectory: URL
    public let policy: Policy
    public let layout: SequenceLayout
    public let log: SFTRunLog
    let source: any SFTSampleSource
    let builder: SequenceBuilder
    let vocabulary: UnifiedVocabulary
    let loss: SFTLoss
    let optimizer: AdamW
    let schedule: CosineSchedule
    let configYAML: String
    let evalSet: [PolicySample]
    public private(set) var step = 0
    public private(set) var dataPosition = 0
    /// Root of the per-sample streams: sample i's t, condition dropout and mask come from `maskStream.split(i)`
    /// (never advanced, kept in the trainer state for the key).
    var maskStream: RandomStream
    public let communicator: any Communicator
    /// The run folder's lock (rank 0), held while the trainer lives.
    public var lock: RunLock?
    /// This rank's samples of every batch: offsets into the B samples of a step.
    public let share: Range<Int>
    /// Test hook: throw `InjectedFailure` in the middle of this step (after the backward pass, before the
    /// gradient allreduce) on this rank. Set from `PARARL_TEST_FAIL=rank:step` by `pararl sft`.
    public var failure: Int?

    /// A trainer over `policy` (already initialised or loaded) writing into `runDirectory`; with `resumeFrom`
    /// (a complete checkpoint folder) the weights, optimiser and trainer state are restored from it.
    /// With a multi-rank `communicator`, every rank constructs the trainer; rank 0 alone reads the checkpoint,
    /// writes the run folder and log, and its parameters, optimiser and state are broadcast to the others.
    public init(config: SFTConfig, runDirectory: URL, policy: Policy, source: any SFTSampleSource, imageCodes: Int,
                resumeFrom checkpoint: URL? = nil, codeVersion: String = "",
                communicator: any Communicator = SingleProcessCommunicator()) throws {
        self.config = config
        self.runDirectory = runDirectory
        self.policy = policy
        self.source = source
        self.communicator = communicator
        guard config.batchSize >= communicator.size else {
            throw ParaRLError.invalidConfig(file: runDirectory.appendingPathComponent(SFTRun.configFile).path, key: "batch_size",
                                            reason: "\(config.batchSize) samples cannot be shared by \(communicator.size) ranks (each needs at least one)")
        }
        share = RankShare.range(of: config.batchSize, rank: communicator.rank, ranks: communicator.size)
        vocabulary = try policy.vocabulary()
        layout = SequenceLayout(instructionLength: config.instructionLength, textLength: config.textLength,
                                imageCodes: imageCodes, filler: config.textFiller)
        builder = try SequenceBuilder(layout: layout, vocabulary: vocabulary)
        loss = try SFTLoss(policy: policy, layout: layout, batch: share.count)
        optimizer = try config.optimizer.adamW(parameters: policy.model.params)
        schedule = CosineSchedule(peakLR: config.lr, warmupSteps: config.warmupSteps, totalSteps: config.steps,
                                  minLRRatio: config.minLRRatio)
        configYAML = try StrictYAML.encode(config)
        evalSet = try source.evalSamples(count: config.evalSamples)
        maskStream = RandomStream(seed: config.seed).split("sft-mask")
        if communicator.isRoot {
            do {
                try FileManager.default.createDirectory(at: runDirectory, withIntermediateDirectories: true)
            } catch {
                throw ParaRLError.io(path: runDirectory.path, reason: "cannot create the run folder: \(error.localizedDescription)")
            }
            log = try SFTRunLog(path: runDirectory.appendingPathComponent(SFTRunLog.fileName).path)
            try log.recordRun(configYAML: configYAML, modelConfigJSON: String(decoding: try policy.config.jsonData(), as: UTF8.self),
                              seed: config.seed, codeVersion: codeVersion)
        } else {
            log = SFTRunLog.disabled()
        }
        var state = TrainerState(step: 0, dataPosition: 0, rootStream: maskStream.state)
        if let checkpoint, communicator.isRoot {
            state = try TrainingCheckpoint.restore(checkpoint, optimizer: optimizer) { folder in
                try policy.loadWeights(from: try SafetensorsCheckpoint.open(directory: folder))
            }
        }
        if communicator.size > 1 {
            try RootSync.synchronise(parameters: policy.model.params, optimizer: optimizer, state: &state,
                                     optimizerToo: checkpoint != nil, communicator: communicator)
        }
        step = state.step
        dataPosition = state.dataPosition
        maskStream = RandomStream(state: state.rootStream)
    }

    /// This rank's noised sequences of the next step (its share of the B samples); advances the data position
    /// by B. Sample i (global index) draws t, the condition dropouts and its mask from `maskStream.split(i)`.
    func nextBatch() throws -> (batch: [NoisedSequence], truncated: Int) {
        var batch: [NoisedSequence] = [], truncated = 0
        for offset in share {
            let index = dataPosition + offset
            let sample = try source.trainSample(index: index)
            var rng = maskStream.split(index)
            let t = rng.uniform(above: config.tEpsilon, through: 1)
            let dropInstruction = rng.uniform() < config.textConditionDropout
            let dropInputImage = rng.uniform() < config.imageConditionDropout
            let sequence = try builder.build(sample, dropInstruction: dropInstruction,
                                             dropInputImage: dropInputImage && sample.inputImage != nil)
            if sequence.truncated { truncated += 1 }
            batch.append(MaskingNoise.apply(sequence, layout: layout, maskID: vocabulary.special.mask, t: t, rng: &rng))
        }
        dataPosition += config.batchSize
        return (batch, truncated)
    }

    /// Sums the ranks' results in rank order: each rank's `loss` is the mean over its own samples, weighted
    /// here by its share of the `total` samples; sums and counts add.
    func reduce(_ r: SFTLossResult, samples: Int, of total: Int, extra: Int = 0) throws -> (SFTLossResult, Int) {
        guard communicator.size > 1 else { return (r, extra) }
        let v = try communicator.sum([r.loss * Double(samples) / Double(total), r.textCESum, r.imageCESum, Double(r.textMasked),
                                      Double(r.imageMasked), Double(r.textCorrect), Double(r.imageCorrect), Double(extra)])
        return (SFTLossResult(loss: v[0], textCESum: v[1], imageCESum: v[2], textMasked: Int(v[3]), imageMasked: Int(v[4]),
                              textCorrect: Int(v[5]), imageCorrect: Int(v[6])), Int(v[7]))
    }

    /// Averages the ranks' gradients: each rank's gradient is the mean over its samples, so it is weighted by its
    /// share of the batch and the weighted gradients are summed in rank order, in one flat buffer.
    func reduceGradients() throws {
        guard communicator.size > 1 else { return }
        let grads = policy.model.grads.buffer
        if share.count * communicator.size != config.batchSize {
            let weight = Float(Double(share.count) / Double(config.batchSize))
            for i in grads.indices { grads[i] *= weight }
            try communicator.allreduce(grads, .sum)
        } else {
            try communicator.allreduce(grads, .mean)
        }
    }

    /// Trains until `until` steps (default: the config's `steps`) are complete, reporting through `onEvent`;
    /// held-out evaluation at step 0 and every `eval_every` steps; a checkpoint every `checkpoint_every` steps
    /// and where training stops. After a stop request (`StopSignal`: SIGINT/SIGTERM) the step in progress finishes, is
    /// checkpointed, and `StopRequested` is thrown.
    public func train(until: Int? = nil, onEvent: (SFTEvent) -> Void = { _ in }) throws {
        let target = min(until ?? config.steps, config.steps)
        let params = policy.model.params, grads = policy.model.grads
        let throughput = Throughput(firstStep: step)
        let root = communicator.isRoot
        if step == 0 && config.evalEvery > 0 && target > 0 {  // the untrained reference point of the curve
            let r = try evaluate()
            try log.recordEval(step: 0, r, samples: evalSet.count)
            if root { onEvent(.evaluation(step: 0, result: r, samples: evalSet.count)) }
        }
        while step < target {
            let start = Date()
            let (batch, localTruncated) = try nextBatch()
            grads.zero()
            let local = try loss.run(batch, backward: true)
            if failure == step + 1 { throw InjectedFailure(step: step + 1) }
            try reduceGradients()
            let (result, truncated) = try reduce(local, samples: share.count, of: config.batchSize, extra: localTruncated)
            // Every rank holds the same averaged gradient and metrics, so every rank takes the same decision.
            let norm = GradientClipping.clip(grads.buffer, maxNorm: config.gradClip)
            let lr = schedule.lr(step: step)
            let skipped = !norm.isFinite || !result.loss.isFinite
            if !skipped { optimizer.step(parameters: params.buffer, gradients: grads.buffer, lr: lr) }
            step += 1
            let report = SFTStepReport(step: step, steps: config.steps, result: result, gradNorm: norm, lr: lr, skipped: skipped,
                                       truncated: truncated, seconds: Date().timeIntervalSince(start),
                                       stepsPerSecond: throughput.rate(step: step), etaSeconds: throughput.eta(step: step, of: config.steps))
            try log.recordStep(report)
            if root { onEvent(.step(report)) }
            if (config.evalEvery > 0 && step % config.evalEvery == 0) || step == config.steps {
                let r = try evaluate()
                try log.recordEval(step: step, r, samples: evalSet.count)
                if root { onEvent(.evaluation(step: step, result: r, samples: evalSet.count)) }
            }
            let stopping = try StopSignal.agreed(communicator) && step < target
            if step % config.checkpointEvery == 0 || step == config.steps || step == target || stopping {
                let folder = try saveCheckpoint()
                if root { onEvent(.checkpoint(step: step, folder: folder)) }
                if stopping { throw StopRequested(step: step, checkpoint: folder, signal: StopSignal.signalNumber) }
            }
        }
    }

    /// Writes a checkpoint of the current state (rank 0 only: the other ranks write nothing and get the folder
    /// rank 0 writes; all ranks hold the same state).
    @discardableResult
    public func saveCheckpoint() throws -> URL {
        guard communicator.isRoot else { return TrainingCheckpoint.folder(runDirectory: runDirectory, step: step) }
        let state = TrainerState(step: step, dataPosition: dataPosition, rootStream: maskStream.state)
        let files = [(name: SFTRun.checkpointConfigFile, data: Data(configYAML.utf8)),
                     (name: SequenceLayoutFile.fileName, data: try config.layoutFile.data())]
        let folder = try TrainingCheckpoint.write(runDirectory: runDirectory, model: policy, optimizer: optimizer, state: state,
                                                  files: files, keep: config.keepCheckpoints)
        try log.recordCheckpoint(step: step, path: folder.path,
                                 kept: try TrainingCheckpoint.completed(runDirectory: runDirectory).map(\.step))
        return folder
    }

    /// Held-out loss and masked-token accuracy per modality: the fixed held-out samples, unguided (no condition
    /// dropout), held-out sample i masked from a fixed stream split by i, so every evaluation (and every rank
    /// count) sees the same t and masks. Each rank evaluates its share of the samples; the results are summed.
    public func evaluate() throws -> SFTLossResult {
        let n = evalSet.count
        let mine = RankShare.range(of: n, rank: communicator.rank, ranks: communicator.size)
        let root = RandomStream(seed: config.seed).split("sft-eval")
        var total = SFTLossResult.zero
        if !mine.isEmpty {
            let b = (1...min(config.batchSize, mine.count)).last { mine.count % $0 == 0 } ?? 1
            let evalLoss = try SFTLoss(policy: policy, layout: layout, batch: b)
            for start in stride(from: mine.lowerBound, to: mine.upperBound, by: b) {
                let batch = try (start..<(start + b)).map { i -> NoisedSequence in
                    var rng = root.split(i)
                    let t = rng.uniform(above: config.tEpsilon, through: 1)
                    return MaskingNoise.apply(try builder.build(evalSet[i]), layout: layout, maskID: vocabulary.special.mask, t: t, rng: &rng)
                }
                var r = try evalLoss.run(batch, backward: false)
                r.loss *= Double(b) / Double(mine.count)  // mean over this rank's held-out samples
                total.add(r)
            }
        }
        return try reduce(total, samples: mine.count, of: n).0
    }
}
