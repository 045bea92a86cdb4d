// The SFT loop (DESIGN §3.3): per step B samples from the data position, per sample t ~ U(eps, 1], text /
// image condition dropout, masking, the modality-weighted objective, global-norm clipping, AdamW on a
// warm-up + cosine schedule; held-out loss and masked-token accuracy per modality, SQLite metrics, atomic
// checkpoints, and resume that continues bit-exactly (all state is the weights, the AdamW moments, the step,
// the data position and the masking stream).
import Foundation
import ParaRLCore

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
    var maskStream: RandomStream

    /// A trainer over `policy` (already initialised or loaded) writing into `runDirectory`; with `resumeFrom`
    /// (a complete checkpoint folder) the weights, optimiser and trainer state are restored from it.
    public init(config: SFTConfig, runDirectory: URL, policy: Policy, source: any SFTSampleSource, imageCodes: Int,
                resumeFrom checkpoint: URL? = nil, codeVersion: String = "") throws {
        self.config = config
        self.runDirectory = runDirectory
        self.policy = policy
        self.source = source
        vocabulary = try policy.vocabulary()
        layout = SequenceLayout(instructionLength: config.instructionLength, textLength: config.textLength,
                                imageCodes: imageCodes, filler: config.textFiller)
        builder = try SequenceBuilder(layout: layout, vocabulary: vocabulary)
        loss = try SFTLoss(policy: policy, layout: layout, batch: config.batchSize)
        let params = policy.model.params
        let groups = config.decayNormWeights ? [] : params.layout.entries.filter { $0.shape.count == 1 }.map {
            ParameterGroup($0.offset..<($0.offset + $0.count), weightDecay: 0)
        }
        optimizer = try AdamW(parameterCount: params.count, beta1: config.beta1, beta2: config.beta2, eps: config.adamEps,
                              weightDecay: config.weightDecay, groups: groups)
        schedule = CosineSchedule(peakLR: config.lr, warmupSteps: config.warmupSteps, totalSteps: config.steps,
                                  minLRRatio: config.minLRRatio)
        configYAML = try StrictYAML.encode(config)
        evalSet = try source.evalSamples(count: config.evalSamples)
        maskStream = RandomStream(seed: config.seed).split("sft-mask")
        do {
            try FileManager.default.createDirectory(at: runDirectory, withIntermediateDirectories: true)
        } catch {
            throw PolicyError.io(path: runDirectory.path, reason: "cannot create the run folder: \(error.localizedDescription)")
        }
        log = try SFTRunLog(path: runDirectory.appendingPathComponent(SFTRunLog.fileName).path)
        try log.recordRun(configYAML: configYAML, modelConfigJSON: String(decoding: try policy.config.jsonData(), as: UTF8.self),
                          seed: config.seed, codeVersion: codeVersion)
        if let checkpoint {
            try policy.loadWeights(from: try SafetensorsCheckpoint.open(directory: checkpoint))
            try SFTCheckpoint.restoreOptimizer(optimizer, folder: checkpoint)
            let state = try SFTCheckpoint.readState(checkpoint)
            step = state.step
            dataPosition = state.dataPosition
            maskStream = RandomStream(state: state.maskStream)
        }
    }

    /// The newest complete checkpoint of a run folder.
    public static func latestCheckpoint(runDirectory: URL) throws -> URL {
        guard let last = try SFTCheckpoint.completed(runDirectory: runDirectory).last else {
            throw PolicyError.noCheckpoint(runDirectory: runDirectory.path)
        }
        return last.url
    }

    /// The B noised sequences of the next step; advances the data position and the masking stream.
    func nextBatch() throws -> (batch: [NoisedSequence], truncated: Int) {
        var batch: [NoisedSequence] = [], truncated = 0
        for _ in 0..<config.batchSize {
            let sample = try source.trainSample(index: dataPosition)
            dataPosition += 1
            let t = maskStream.uniform(above: config.tEpsilon, through: 1)
            let dropInstruction = maskStream.uniform() < config.textConditionDropout
            let dropInputImage = maskStream.uniform() < config.imageConditionDropout
            let sequence = try builder.build(sample, dropInstruction: dropInstruction,
                                             dropInputImage: dropInputImage && sample.inputImage != nil)
            if sequence.truncated { truncated += 1 }
            batch.append(SFTObjective.noise(sequence, layout: layout, maskID: vocabulary.special.mask, t: t, rng: &maskStream))
        }
        return (batch, truncated)
    }

    /// Trains until `until` steps (default: the config's `steps`) are complete, reporting through `onEvent`;
    /// held-out evaluation at step 0 and every `eval_every` steps; a checkpoint every `checkpoint_every` steps
    /// and where training stops.
    public func train(until: Int? = nil, onEvent: (SFTEvent) -> Void = { _ in }) throws {
        let target = min(until ?? config.steps, config.steps)
        let params = policy.model.params, grads = policy.model.grads
        let sessionStart = Date(), firstStep = step
        if step == 0 && config.evalEvery > 0 && target > 0 {  // the untrained reference point of the curve
            let r = try evaluate()
            try log.recordEval(step: 0, r, samples: evalSet.count)
            onEvent(.evaluation(step: 0, result: r, samples: evalSet.count))
        }
        while step < target {
            let start = Date()
            let (batch, truncated) = try nextBatch()
            grads.zero()
            let result = try loss.run(batch, backward: true)
            let norm = GradientClipping.clip(grads.buffer, maxNorm: config.gradClip)
            let lr = schedule.lr(step: step)
            let skipped = !norm.isFinite || !result.loss.isFinite
            if !skipped { optimizer.step(parameters: params.buffer, gradients: grads.buffer, lr: lr) }
            step += 1
            let elapsed = Date().timeIntervalSince(sessionStart)
            let rate = Double(step - firstStep) / max(elapsed, 1e-9)
            let report = SFTStepReport(step: step, steps: config.steps, result: result, gradNorm: norm, lr: lr, skipped: skipped,
                                       truncated: truncated, seconds: Date().timeIntervalSince(start), stepsPerSecond: rate,
                                       etaSeconds: Double(config.steps - step) / max(rate, 1e-9))
            try log.recordStep(report)
            onEvent(.step(report))
            if (config.evalEvery > 0 && step % config.evalEvery == 0) || step == config.steps {
                let r = try evaluate()
                try log.recordEval(step: step, r, samples: evalSet.count)
                onEvent(.evaluation(step: step, result: r, samples: evalSet.count))
            }
            if step % config.checkpointEvery == 0 || step == config.steps || step == target {
                let folder = try saveCheckpoint()
                onEvent(.checkpoint(step: step, folder: folder))
            }
        }
    }

    /// Writes a checkpoint of the current state.
    @discardableResult
    public func saveCheckpoint() throws -> URL {
        let state = SFTTrainerState(step: step, dataPosition: dataPosition, maskStream: maskStream.state)
        let folder = try SFTCheckpoint.write(runDirectory: runDirectory, policy: policy, optimizer: optimizer, state: state,
                                             configYAML: configYAML, keep: config.keepCheckpoints)
        try log.recordCheckpoint(step: step, path: folder.path)
        return folder
    }

    /// Held-out loss and masked-token accuracy per modality: the fixed held-out samples, unguided (no condition
    /// dropout), masked from a fixed stream so every evaluation sees the same t and masks.
    public func evaluate() throws -> SFTLossResult {
        let n = evalSet.count
        let b = (1...min(config.batchSize, n)).last { n % $0 == 0 } ?? 1
        let evalLoss = try SFTLoss(policy: policy, layout: layout, batch: b)
        var rng = RandomStream(seed: config.seed).split("sft-eval")
        var total = SFTLossResult.zero
        for start in stride(from: 0, to: n, by: b) {
            let batch = try evalSet[start..<(start + b)].map { sample -> NoisedSequence in
                let t = rng.uniform(above: config.tEpsilon, through: 1)
                return SFTObjective.noise(try builder.build(sample), layout: layout, maskID: vocabulary.special.mask, t: t, rng: &rng)
            }
            var r = try evalLoss.run(batch, backward: false)
            r.loss *= Double(b) / Double(n)  // mean over all held-out samples
            total.add(r)
        }
        return total
    }
}

extension Policy {
    /// LLaDA's init: matrices ~ N(0, std²), norm weights 1, drawn in parameter order from `rng`.
    public func initialise(std: Float, rng: inout RandomStream) {
        for e in model.params.layout.entries {
            let p = model.params[e.name]
            if e.shape.count == 1 {
                p.update(repeating: 1, count: e.count)
            } else {
                for i in 0..<e.count { p[i] = std * rng.normal() }
            }
        }
    }
}
