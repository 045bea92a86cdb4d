// One ParaRL training step as named phases (docs/design.md §3.5–3.7): rollout (G rollouts per prompt of this rank, a fresh S
// per group) → score snapshots (the partial text and image at every t ∈ S, one batched CLIP call) → group advantages
// (Eq. 4 rewards, per-step standardisation) → build the update (the states before each t with π_old, the weights,
// π_ref) → update (num_iterations diffusion-GRPO updates, gradients summed over ranks, clipping, AdamW) → records
// (the step row over the global batch and the rollout-log rows, gathered on rank 0).
import Foundation
import ParaRLCore
import ParaRLMedia
import ParaRLPolicy
import ParaRLRunKit
import ParaRLSampling
import ParaRLStorage
import ParaRLWorld

extension ParaRLTrainer {
    /// One group of this rank through the phases: its task, S, rollouts, then scores, rewards and advantages.
    struct ScoredGroup {
        var index: Int
        var task: WorldTask
        var conditional: PolicySequence
        var sampledSteps: [Int]
        var rollouts: [Rollout]
        var scores: [[Double]] = []
        /// The monitor's raw scores of the same snapshots (empty without a monitor).
        var monitorScores: [[Double]] = []
        var rewards: [[Double]] = []
        var advantages = GroupAdvantages(rewards: [])
        var partialTexts: [[String]] = []
        var partialImages: [[RGBImage]] = []
    }

    /// What a step produces: the logged row, every inner iteration's statistics, and the log rows (on rank 0).
    struct StepOutcome {
        var record: StepRecord
        var iterations: [UpdateStatistics]
        var groups: [GroupRecord], rollouts: [RolloutRecord], snapshots: [SnapshotRecord]
    }

    /// The update phase's result.
    struct UpdateOutcome {
        var iterations: [UpdateStatistics]
        var gradNorm = 0.0, lr = 0.0, skipped = false
    }

    /// Sums over this rank's groups that the step row reports over the global batch.
    struct StepTallies {
        var rewardSum = 0.0, rewardSquares = 0.0, advantageSum = 0.0, advantageSquares = 0.0
        var zeroStdSteps = 0.0, outputAlignmentSum = 0.0, judgedRollouts = 0.0, monitorSum = 0.0, monitoredSnapshots = 0.0

        var values: [Double] {
            [rewardSum, rewardSquares, advantageSum, advantageSquares, zeroStdSteps, outputAlignmentSum, judgedRollouts,
             monitorSum, monitoredSnapshots]
        }
        init() {}
        init(_ v: [Double]) {
            (rewardSum, rewardSquares, advantageSum, advantageSquares) = (v[0], v[1], v[2], v[3])
            (zeroStdSteps, outputAlignmentSum, judgedRollouts, monitorSum, monitoredSnapshots) = (v[4], v[5], v[6], v[7], v[8])
        }
    }

    /// The phases of a step in order (`pararl bench step` times each).
    public enum Phase: String, CaseIterable, Sendable {
        case rollout, scoring, advantages, reference, update, records, log
    }

    /// One step through the phases; `mark(phase)` is called as each phase ends (the log phase is the caller's).
    func trainStep(mark: (Phase) -> Void = { _ in }) throws -> StepOutcome {
        let start = Date()
        var groups = try rollOut()
        mark(.rollout)
        let rolloutDone = Date()
        try scoreSnapshots(&groups)
        mark(.scoring)
        computeAdvantages(&groups)
        mark(.advantages)
        let scoringDone = Date()
        var items = try buildUpdate(groups)
        mark(.reference)
        let update = try runUpdate(&items)
        mark(.update)
        let updateDone = Date()
        let outcome = try records(groups, update, timings: (start, rolloutDone, scoringDone, updateDone))
        mark(.records)
        return outcome
    }

    /// Rollout: G rollouts of every group of this rank, partial outputs recorded at its S.
    func rollOut() throws -> [ScoredGroup] {
        try share.map { index in
            let task = self.task(step: step, group: index)
            let prompt = try bundle.prompt(task)
            let S = sampledSteps(step: step, group: index)
            let seeds = (0..<config.groupSize).map { samplerSeed(step: step, group: index, rollout: $0) }
            let rollouts = try sampler.sample(prompt, seeds: seeds, recordSteps: Set(S))
            return ScoredGroup(index: index, task: task, conditional: try bundle.sequences(prompt).conditional, sampledSteps: S,
                               rollouts: rollouts)
        }
    }

    /// Score snapshots: every (group, rollout, t ∈ S) decoded and scored in one batched CLIP call.
    func scoreSnapshots(_ groups: inout [ScoredGroup]) throws {
        var texts: [String] = [], images: [RGBImage] = [], complete: [Bool] = []
        for k in groups.indices {
            groups[k].partialTexts = []; groups[k].partialImages = []
            for rollout in groups[k].rollouts {
                guard rollout.partials.map(\.step) == groups[k].sampledSteps else {
                    throw TrainerError.invalidInput("the sampler returned partial outputs at \(rollout.partials.map(\.step)), not at S = \(groups[k].sampledSteps)")
                }
                var ts: [String] = [], ims: [RGBImage] = []
                for partial in rollout.partials {
                    let (text, image) = try bundle.decode(partial)
                    ts.append(text); ims.append(image); complete.append(partial.step == config.sampler.steps)
                }
                texts += ts; images += ims
                groups[k].partialTexts.append(ts); groups[k].partialImages.append(ims)
            }
        }
        let flat = try scorer.pairScores(texts: texts, images: images, complete: complete)
        let monitored = try monitor?.pairScores(texts: texts, images: images, complete: complete)
        let s = config.effectiveSampledSteps
        var cursor = 0
        for k in groups.indices {
            groups[k].scores = []; groups[k].monitorScores = []
            for _ in 0..<config.groupSize {
                groups[k].scores.append(flat[cursor..<(cursor + s)].map { Double($0) })
                if let monitored { groups[k].monitorScores.append(monitored[cursor..<(cursor + s)].map { Double($0) }) }
                cursor += s
            }
        }
    }

    /// Group advantages: Eq. 4 rewards and their per-step standardisation within each group.
    func computeAdvantages(_ groups: inout [ScoredGroup]) {
        for k in groups.indices {
            groups[k].rewards = reward.rewards(scores: groups[k].scores)
            groups[k].advantages = GroupAdvantages(rewards: groups[k].rewards)
        }
    }

    /// Build the update: for the trajectory objective, the state before each t ∈ S with the tokens revealed at t, their
    /// π_old from the trajectory record and the aggregation weight over the global batch; for the output level, the
    /// final output re-masked at a random ratio p. Then π_ref of every state when β > 0.
    func buildUpdate(_ groups: [ScoredGroup]) throws -> [UpdateItem] {
        let g = config.groupSize, P = config.promptsPerStep, T = config.sampler.steps
        var items: [UpdateItem] = []
        let outputLength = bundle.layout.outputPositions.count
        let mask = bundle.vocabulary.special.mask
        let positions = bundle.layout.outputPositions, imageCount = bundle.layout.imageCodes
        var localTokens = 0.0
        var pending: [(ScoredState, [Float], Double, Int)] = []  // state, π_old, A, tokens of its step
        for group in groups {
            for (i, rollout) in group.rollouts.enumerated() {
                let record = rollout.record
                if config.objective == .output {
                    var final = group.conditional
                    final.tokens = record.state(before: T + 1, prompt: group.conditional, layout: bundle.layout, maskID: mask)
                    var rng = outputMaskStream(step: step, group: group.index, rollout: i)
                    let (state, p) = OutputLevelMasking.mask(final: final, layout: bundle.layout, vocabulary: bundle.vocabulary, rng: &rng)
                    items.append(UpdateItem(state: state, oldLogProbs: [], referenceLogProbs: nil,
                                            advantage: group.advantages.advantages[i][0],
                                            weight: OutputLevelMasking.weight(ratio: p, outputLength: outputLength, groupSize: g, groups: P)))
                    continue
                }
                for (k, t) in group.sampledSteps.enumerated() {
                    let indices = record.outputIndices(revealedAt: t)
                    guard !indices.isEmpty else { continue }  // nothing revealed at t: |τ_i(t)| = 0 contributes nothing
                    let state = ScoredState(tokens: record.state(before: t, prompt: group.conditional, layout: bundle.layout, maskID: mask),
                                            keyMask: group.conditional.keyMask, positions: indices.map { positions[$0] },
                                            targets: indices.map { record.tokens[$0] },
                                            modalities: indices.map { $0 < imageCount ? .image : .text })
                    pending.append((state, indices.map { record.logProb[$0] }, group.advantages.advantages[i][k], indices.count))
                    localTokens += Double(indices.count)
                }
            }
        }
        if config.objective == .trajectory {
            let batchTokens = Int(try communicator.sum([localTokens])[0])
            items = pending.map { state, old, a, n in
                UpdateItem(state: state, oldLogProbs: old, referenceLogProbs: nil, advantage: a,
                           weight: DiffusionGRPO.weight(config.aggregation, stepTokens: n, groupSize: g, groups: P, batchTokens: batchTokens))
            }
        }
        if let reference {
            let r = try likelihood.logProbs(items.map(\.state), policy: reference)
            for k in items.indices { items[k].referenceLogProbs = r[k] }
        }
        return items
    }

    /// Update: num_iterations diffusion-GRPO updates; gradients and statistics summed over ranks, clipped, AdamW at the
    /// update's scheduled lr (a non-finite gradient or loss skips the optimiser step).
    func runUpdate(_ items: inout [UpdateItem]) throws -> UpdateOutcome {
        var outcome = UpdateOutcome(iterations: [])
        let params = policy.model.params, grads = policy.model.grads
        for iteration in 0..<config.numIterations {
            grads.zero()
            let (local, current) = try PolicyUpdate.accumulate(items, policy: policy, likelihood: likelihood, objective: objective)
            if failure == step + 1 { throw InjectedFailure(step: step + 1) }
            if config.objective == .output && iteration == 0 {
                for k in items.indices { items[k].oldLogProbs = current[k] }  // π_old on the masked states, for μ > 1
            }
            if communicator.size > 1 { try communicator.allreduce(grads.buffer, .sum) }
            let sums = try communicator.sum(local.sums)
            let maxDeviation = try communicator.gather(withUnsafeBytes(of: local.maxRatioDeviation) { Data($0) }, root: 0)
                .map { $0.withUnsafeBytes { $0.loadUnaligned(as: Double.self) } }.max() ?? local.maxRatioDeviation
            let reduced = UpdateStatistics(sums: sums, maxRatioDeviation: maxDeviation)
            outcome.gradNorm = GradientClipping.clip(grads.buffer, maxNorm: config.gradClip)
            outcome.lr = schedule.lr(step: step * config.numIterations + iteration)
            // Every rank holds the same summed gradient, so every rank takes the same decision.
            if outcome.gradNorm.isFinite && reduced.loss.isFinite {
                optimizer.step(parameters: params.buffer, gradients: grads.buffer, lr: outcome.lr)
            } else {
                outcome.skipped = true
            }
            outcome.iterations.append(reduced)
        }
        return outcome
    }

    /// Records: the rollout-log rows of this rank's groups (the final output judged for output alignment), the step
    /// row over the global batch, and every rank's rows gathered on rank 0.
    func records(_ groups: [ScoredGroup], _ update: UpdateOutcome,
                 timings: (start: Date, rollout: Date, scoring: Date, update: Date)) throws -> StepOutcome {
        let g = config.groupSize, s = config.effectiveSampledSteps, P = config.promptsPerStep
        var local = StepTallies()
        var groupRecords: [GroupRecord] = [], rolloutRecords: [RolloutRecord] = [], snapshots: [SnapshotRecord] = []
        for group in groups {
            local.zeroStdSteps += Double(group.advantages.zeroStdSteps.count)
            let inputPNG = try group.task.inputScene.map { try PNGCodec.encode(renderer.render($0)) }
            groupRecords.append(GroupRecord(step: step + 1, group: group.index, taskID: group.task.id, kind: group.task.kind.rawValue,
                                            category: group.task.category.rawValue, instruction: group.task.instruction,
                                            inputImagePNG: inputPNG, sampledSteps: group.sampledSteps))
            for (i, rollout) in group.rollouts.enumerated() {
                let (reasoning, image) = try bundle.decode(rollout)
                local.outputAlignmentSum += judge.judge(JudgeReference(group.task), reasoning: reasoning, image: image).scores.outputAlignment
                local.judgedRollouts += 1
                rolloutRecords.append(RolloutRecord(step: step + 1, group: group.index, rollout: i, finalText: reasoning,
                                                    finalImagePNG: try PNGCodec.encode(image), trajectory: rollout.record.encoded(),
                                                    samplerSeed: rollout.record.seed))
                for (k, t) in group.sampledSteps.enumerated() {
                    let r = group.rewards[i][k], a = group.advantages.advantages[i][k]
                    local.rewardSum += r; local.rewardSquares += r * r; local.advantageSum += a; local.advantageSquares += a * a
                    let monitorScore = group.monitorScores.isEmpty ? nil : group.monitorScores[i][k]
                    if let monitorScore { local.monitorSum += monitorScore; local.monitoredSnapshots += 1 }
                    snapshots.append(SnapshotRecord(step: step + 1, group: group.index, rollout: i, t: t, partialText: group.partialTexts[i][k],
                                                    partialImagePNG: config.logPartialImages ? try PNGCodec.encode(group.partialImages[i][k]) : Data(),
                                                    clipScore: group.scores[i][k], reward: r, advantage: a,
                                                    monitorScore: monitorScore))
                }
            }
        }
        let m = StepTallies(try communicator.sum(local.values))
        let n = Double(P * g * s)
        func std(_ sum: Double, _ squares: Double) -> Double { max(0, squares / n - (sum / n) * (sum / n)).squareRoot() }
        let stats = UpdateStatistics.mean(update.iterations)
        let tokens = max(stats.tokens, 1)
        let record = StepRecord(step: step + 1, loss: stats.loss, policyLoss: stats.policyLoss, kl: stats.klTokens / tokens,
                                rewardMean: m.rewardSum / n, rewardStd: std(m.rewardSum, m.rewardSquares),
                                advantageMean: m.advantageSum / n, advantageStd: std(m.advantageSum, m.advantageSquares),
                                clipFractionLow: stats.clippedLow / tokens, clipFractionHigh: stats.clippedHigh / tokens,
                                fracZeroStd: m.zeroStdSteps / Double(P * s), gradNorm: update.gradNorm, lr: update.lr,
                                skipped: update.skipped, outputAlignment: m.outputAlignmentSum / max(m.judgedRollouts, 1),
                                secondsRollout: timings.rollout.timeIntervalSince(timings.start),
                                secondsScoring: timings.scoring.timeIntervalSince(timings.rollout),
                                secondsUpdate: timings.update.timeIntervalSince(timings.scoring),
                                secondsTotal: Date().timeIntervalSince(timings.start),
                                ratioDeviationMean: stats.ratioDeviationSum / tokens, ratioDeviationMax: stats.maxRatioDeviation,
                                monitorMean: m.monitoredSnapshots > 0 ? m.monitorSum / m.monitoredSnapshots : nil)
        let (allGroups, allRollouts, allSnapshots) = try gatherRecords(groupRecords, rolloutRecords, snapshots)
        return StepOutcome(record: record, iterations: update.iterations, groups: allGroups, rollouts: allRollouts,
                           snapshots: allSnapshots)
    }
}
