// Reward–judge agreement of a policy's own outputs (`pararl reward-agreement`, docs/design.md §3.5): K rollouts of N held-out
// evaluation tasks (spread over the split as the paired reward evaluation's, sampler seeds a function of seed, task
// and rollout only), every final output judged, and each reward source's raw score c on the final output and on the
// partial outputs at a grid of t. Group advantages only use the order of a prompt's own rollouts, so the numbers
// that matter are the within-task ones: the mean within-task Spearman ρ and pair concordance per judge axis, and per
// t the within-task ρ of c at t against the final output's output alignment (does the trajectory reward predict the
// outcome?). Eq. 4 is monotone in c, so these orders are the reward's, up to the ties its clipping makes.
import Foundation
import ParaRLCore
import ParaRLMedia
import ParaRLSampling
import ParaRLStorage
import ParaRLWorld

/// One judge axis's agreement with a reward on the final outputs.
public struct AxisAgreementRow: Codable, Sendable, Equatable {
    public var axis: String
    public var agreement: AxisAgreement
}

/// Agreement at one t of the grid: c at t against the final output's output alignment.
public struct StepAgreementRow: Codable, Sendable, Equatable {
    public var t: Int
    public var agreement: AxisAgreement
}

/// Everything one reward source agrees on.
public struct RewardSourceAgreement: Codable, Sendable, Equatable {
    /// `clip (FOLDER)` or `world`.
    public var reward: String
    /// Mean raw score c of the final outputs.
    public var finalMean: Double
    public var axes: [AxisAgreementRow]
    public var byT: [StepAgreementRow]

    enum CodingKeys: String, CodingKey { case reward, finalMean = "final_mean", axes, byT = "by_t" }

    /// The agreement with `axis` (e.g. "output alignment").
    public func axis(_ name: String) -> AxisAgreement? { axes.first { $0.axis == name }?.agreement }
}

/// The study's result over one checkpoint's outputs.
public struct AgreementReport: Codable, Sendable, Equatable {
    public var checkpoint: String
    public var tasks: Int
    public var rollouts: Int
    public var grid: [Int]
    public var samplerSteps: Int
    public var seed: UInt64
    /// The judge's mean of each axis over every output (report order).
    public var judge: [String: Double]
    public var sources: [RewardSourceAgreement]

    enum CodingKeys: String, CodingKey {
        case checkpoint, tasks, rollouts, grid, samplerSteps = "sampler_steps", seed, judge, sources
    }
}

public enum AgreementStudy {
    /// The default grid of t: T/4, T/2, 3T/4 and T (rounded, distinct, at least 1).
    public static func defaultGrid(samplerSteps T: Int) -> [Int] {
        Array(Set([T / 4, T / 2, (3 * T) / 4, T].map { max(1, $0) })).sorted()
    }

    /// The judge axes compared, in report order (image consistency on editing tasks only).
    public static let axes = ["text quality", "text alignment", "image quality", "image alignment", "image consistency",
                              "output alignment", "overall"]

    /// Samples `rollouts` rollouts of `tasks` evaluation tasks with `bundle`, judges the final outputs and scores them
    /// (final and at every t of `grid`) with each of `scorers`. `progress(done, total)` is called after every task.
    public static func run(bundle: PolicyBundle, checkpoint: String, sampler config: SamplerConfig, seed: UInt64,
                           worldSeed: UInt64, tasks n: Int, rollouts k: Int, grid: [Int],
                           scorers: [(name: String, scorer: any PairScorer)],
                           progress: ((Int, Int) -> Void)? = nil) throws -> AgreementReport {
        let all = WorldTaskSource(seed: worldSeed).evalTasks
        let count = min(max(n, 1), all.count)
        let chosen = (0..<count).map { j in let i = j * all.count / count; return (i, all[i]) }
        let sampler = try bundle.sampler(config: config)
        let judge = WorldJudge(imageSize: bundle.encoder.image.imageWidth)
        // Per task: the K judgements and, per scorer, c of the final outputs and c at each t.
        var judged: [[JudgeScores]] = []
        var finalScores = Array(repeating: [[Double]](), count: scorers.count)
        var stepScores = Array(repeating: Array(repeating: [[Double]](), count: grid.count), count: scorers.count)
        for (done, (index, task)) in chosen.enumerated() {
            let seeds = (0..<k).map { RewardEvaluator.samplerSeed(seed: seed, task: index, rollout: $0) }
            let sampled = try sampler.sample(try bundle.prompt(task), seeds: seeds, recordSteps: Set(grid))
            var texts: [String] = [], images: [RGBImage] = [], scores: [JudgeScores] = []
            for rollout in sampled {
                let (reasoning, image) = try bundle.decode(rollout)
                scores.append(judge.judge(JudgeReference(task), reasoning: reasoning, image: image).scores)
                texts.append(reasoning); images.append(image)
            }
            for rollout in sampled {
                guard rollout.partials.map(\.step) == grid else {
                    throw TrainerError.invalidInput("the sampler returned partial outputs at \(rollout.partials.map(\.step)), not at \(grid)")
                }
                for partial in rollout.partials {
                    let (text, image) = try bundle.decode(partial)
                    texts.append(text); images.append(image)
                }
            }
            judged.append(scores)
            for (s, scorer) in scorers.enumerated() {
                let complete = Array(repeating: true, count: k) + (0..<k).flatMap { _ in grid.map { $0 == config.steps } }
                let c = try scorer.scorer.pairScores(texts: texts, images: images, complete: complete).map(Double.init)
                finalScores[s].append(Array(c[0..<k]))
                for g in grid.indices {
                    stepScores[s][g].append((0..<k).map { c[k + $0 * grid.count + g] })
                }
            }
            progress?(done + 1, chosen.count)
        }
        let flat = judged.flatMap { $0 }
        var means: [String: Double] = [:]
        for axis in axes {
            let values = flat.compactMap { value($0, axis) }
            if !values.isEmpty { means[axis] = values.reduce(0, +) / Double(values.count) }
        }
        let sources = scorers.indices.map { s -> RewardSourceAgreement in
            let final = finalScores[s]
            let rows = axes.compactMap { axis -> AxisAgreementRow? in
                let (reward, target) = paired(final, judged, axis)
                return reward.isEmpty ? nil : AxisAgreementRow(axis: axis, agreement: AxisAgreement(reward: reward, judge: target))
            }
            let outcome = judged.map { $0.map(\.outputAlignment) }
            let byT = grid.indices.map { StepAgreementRow(t: grid[$0], agreement: AxisAgreement(reward: stepScores[s][$0], judge: outcome)) }
            let all = final.flatMap { $0 }
            return RewardSourceAgreement(reward: scorers[s].name, finalMean: all.isEmpty ? 0 : all.reduce(0, +) / Double(all.count),
                                         axes: rows, byT: byT)
        }
        return AgreementReport(checkpoint: checkpoint, tasks: chosen.count, rollouts: k, grid: grid, samplerSteps: config.steps,
                               seed: seed, judge: means, sources: sources)
    }

    /// The judge's value of `axis` (nil: image consistency of a generation task).
    static func value(_ s: JudgeScores, _ axis: String) -> Double? {
        switch axis {
        case "text quality": return s.textQuality
        case "text alignment": return s.textAlignment
        case "image quality": return s.imageQuality
        case "image alignment": return s.imageAlignment
        case "image consistency": return s.imageConsistency
        case "output alignment": return s.outputAlignment
        default: return s.overall
        }
    }

    /// Rewards and judge values of the tasks that have `axis`.
    static func paired(_ reward: [[Double]], _ judged: [[JudgeScores]], _ axis: String) -> ([[Double]], [[Double]]) {
        var r: [[Double]] = [], j: [[Double]] = []
        for (rs, js) in zip(reward, judged) {
            let values = js.compactMap { value($0, axis) }
            guard values.count == js.count else { continue }
            r.append(rs); j.append(values)
        }
        return (r, j)
    }
}

extension AgreementReport {
    /// The report as rollout-log rows labelled `step`: one per source and judge axis, then one per t of the grid.
    public func records(step: Int) -> [RewardAgreementRecord] {
        sources.flatMap { s in
            let rows = s.axes.map { ($0.axis, $0.agreement) } + s.byT.map { ("t=\($0.t)", $0.agreement) }
            return rows.map { measure, a in
                RewardAgreementRecord(step: step, source: s.reward, measure: measure, tasks: tasks, rollouts: rollouts,
                                      pooledSpearman: a.pooledSpearman, withinTaskSpearman: a.withinTaskSpearman,
                                      withinTaskCount: a.withinTaskCount, concordance: a.concordance, pairs: a.concordantPairs)
            }
        }
    }
}
