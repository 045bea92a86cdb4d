// The paired reward evaluation and the step statistics (issue 14): fixed tasks and sampler seeds for every checkpoint,
// rows stored and resumed with the run, `eval-reward`'s evaluator equal to the run's own, statistics averaged over every
// inner iteration, warm-up above zero, and strict `reward_eval` keys.
import Foundation
import Testing
import ParaRLCLIP
import ParaRLCore
import ParaRLSampling
import ParaRLStorage
@testable import ParaRLTrainer
import ParaRLWorld
import TestSupport

@Suite("Paired reward evaluation and step statistics", .serialized)
struct RewardEvalTests {
    func fixture() throws -> MicroFixture { try MicroFixture.shared.get() }

    @Test("a run evaluates at step 0, every `every` steps and at the end, on the same tasks and seeds; rows recompute")
    func runEvaluations() throws {
        let f = try fixture()
        let trainer = try f.start("reward-eval")
        try trainer.train()
        let c = trainer.config
        let log = try RolloutLog(readingAt: trainer.runDirectory.appendingPathComponent(RolloutLog.fileName).path)
        let rows = try log.rewardEvaluationRollouts(runID: trainer.runID)
        let summaries = try log.rewardEvaluations(runID: trainer.runID)
        // every: 2, steps: 3 → step 0, 2 and 3 (the end).
        #expect(Array(Set(rows.map(\.step))).sorted() == [0, 2, 3])
        #expect(summaries.count == 3 * c.sampler.steps && summaries.allSatisfy { $0.tasks == 3 && $0.rollouts == 2 })
        let byStep = Dictionary(grouping: rows, by: \.step)
        func key(_ r: RewardEvalRolloutRecord) -> String { "\(r.taskID)/\(r.rollout)/\(r.t)/\(r.samplerSeed)" }
        let keys0 = byStep[0]?.map(key) ?? []
        #expect(keys0.count == 3 * 2 * c.sampler.steps)
        for step in [2, 3] { #expect(byStep[step]?.map(key) == keys0) }  // identical task ids, rollouts, t and seeds
        // The tasks are spread over the evaluation split, and the seeds are a function of (seed, task, rollout) only.
        let split = WorldTaskSource(seed: c.worldSeed).evalTasks
        #expect(Set(rows.map(\.taskID)) == Set([split[0].id, split[100].id, split[200].id]))
        for r in rows {
            let index = split.firstIndex { $0.id == r.taskID } ?? -1
            #expect(r.samplerSeed == RewardEvaluator.samplerSeed(seed: c.seed, task: index, rollout: r.rollout))
            #expect(r.reward == CLIPReward(trainer.calibration).reward(score: r.clipScore))
        }
        // The policy moved, so the rewards are not all the same between step 0 and the end.
        #expect(byStep[0]?.map(\.clipScore) != byStep[3]?.map(\.clipScore))
        // Per-t rows are the means of the rollout rows.
        for s in summaries {
            let at = rows.filter { $0.step == s.step && $0.t == s.t }
            #expect(abs(s.rewardMean - at.map(\.reward).reduce(0, +) / Double(at.count)) < 1e-12)
            #expect(abs(s.clipMean - at.map(\.clipScore).reduce(0, +) / Double(at.count)) < 1e-9)
        }
    }

    @Test("the same checkpoint evaluated twice gives identical rows; eval-reward's evaluator reproduces the run's step 0")
    func repeatable() throws {
        let f = try fixture()
        let trainer = try f.start("reward-eval-repeat") { $0.steps = 1 }
        try trainer.train()
        let runConfig = trainer.runDirectory.appendingPathComponent(ParaRLRun.configFile)
        let (evaluator, calibration) = try RewardEvaluator.load(configURL: runConfig, calibration: trainer.calibration)
        #expect(calibration == trainer.calibration)
        let start = try PolicyBundle.load(checkpoint: f.checkpoint)
        let a = try evaluator.evaluate(start, step: 0), b = try evaluator.evaluate(start, step: 0)
        #expect(a == b)
        let log = try RolloutLog(readingAt: trainer.runDirectory.appendingPathComponent(RolloutLog.fileName).path)
        #expect(try log.rewardEvaluationRollouts(runID: trainer.runID, step: 0) == a.rollouts)
        #expect(try log.rewardEvaluations(runID: trainer.runID).filter { $0.step == 0 } == a.summaries)
        // A different checkpoint: the same task ids and seeds, other scores.
        let moved = try PolicyBundle.load(checkpoint: trainer.runDirectory.appendingPathComponent("checkpoints/step-00000001"))
        let m = try evaluator.evaluate(moved, step: 0)
        #expect(m.rollouts.map { "\($0.taskID)/\($0.rollout)/\($0.t)/\($0.samplerSeed)" }
                == a.rollouts.map { "\($0.taskID)/\($0.rollout)/\($0.t)/\($0.samplerSeed)" })
        #expect(m.rollouts.map(\.clipScore) != a.rollouts.map(\.clipScore))
    }

    @Test("with num_iterations 2 and a large lr the logged clip fractions and |ρ−1| are the means over both iterations")
    func iterationStatistics() throws {
        let f = try fixture()
        let trainer = try f.start("iterations") { c in c.steps = 2; c.numIterations = 2; c.lr = 5e-2; c.rewardEval.enabled = false }
        var reports: [ParaRLStepReport] = []
        try trainer.train { if case .step(let r) = $0 { reports.append(r) } }
        let log = try RolloutLog(readingAt: trainer.runDirectory.appendingPathComponent(RolloutLog.fileName).path)
        let steps = try log.steps(runID: trainer.runID)
        #expect(reports.count == 2 && steps.count == 2)
        var sawClipping = false
        for (row, report) in zip(steps, reports) {
            let its = report.iterations
            #expect(its.count == 2)
            #expect(its[0].ratioDeviationSum / its[0].tokens < 1e-5)  // the first iteration: ρ = 1 up to rounding
            let tokens = its.map(\.tokens).reduce(0, +)
            func close(_ a: Double, _ b: Double) -> Bool { abs(a - b) <= 1e-12 * max(1, abs(b)) }
            #expect(close(row.ratioDeviationMean, its.map(\.ratioDeviationSum).reduce(0, +) / tokens))
            #expect(row.ratioDeviationMax == its.map(\.maxRatioDeviation).max())
            #expect(close(row.clipFractionLow, its.map(\.clippedLow).reduce(0, +) / tokens))
            #expect(close(row.clipFractionHigh, its.map(\.clippedHigh).reduce(0, +) / tokens))
            #expect(close(row.kl, its.map(\.klTokens).reduce(0, +) / tokens))
            #expect(close(row.loss, its.map(\.loss).reduce(0, +) / 2) && close(row.policyLoss, its.map(\.policyLoss).reduce(0, +) / 2))
            #expect(row.ratioDeviationMean > 1e-4 && row.ratioDeviationMax > 1e-3)
            if row.clipFractionLow + row.clipFractionHigh > 0 { sawClipping = true }
        }
        #expect(sawClipping)
    }

    @Test("steps.lr at step 1 is lr / warmup_steps (warm-up never trains at 0)")
    func warmupStartsAboveZero() throws {
        let f = try fixture()
        let trainer = try f.start("warmup") { c in c.steps = 1; c.numIterations = 1; c.warmupSteps = 4; c.lr = 1e-3; c.rewardEval.enabled = false
            c.evalTasks = 0 }
        try trainer.train()
        let log = try RolloutLog(readingAt: trainer.runDirectory.appendingPathComponent(RolloutLog.fileName).path)
        let steps = try log.steps(runID: trainer.runID)
        #expect(steps.count == 1 && steps[0].lr == 1e-3 / 4)
    }

    @Test("reward_eval sizes of 0 or beyond the split, a t outside 1..T and unknown keys are errors naming key and file")
    func strictKeys() throws {
        let url = MicroFixture.repositoryRoot().appendingPathComponent("rl-configs/pararl-micro.yaml")
        let text = try String(contentsOf: url, encoding: .utf8)
        let cases: [(String, String, String)] = [
            ("  tasks: 3", "  tasks: 0", "reward_eval.tasks"), ("  tasks: 3", "  tasks: 301", "reward_eval.tasks"),
            ("  rollouts: 2", "  rollouts: 0", "reward_eval.rollouts"), ("  steps: null\n  every", "  steps: [0, 3]\n  every", "reward_eval.steps"),
            ("  steps: null\n  every", "  steps: [7]\n  every", "reward_eval.steps"), ("  steps: null\n  every", "  steps: []\n  every", "reward_eval.steps"),
            ("  every: 2", "  every: 0", "reward_eval.every"), ("  every: 2", "  every: 2\n  evry: 1", "reward_eval.evry"),
        ]
        for (from, to, key) in cases {
            #expect(text.contains(from))
            do {
                _ = try ParaRLConfig.parse(text.replacingOccurrences(of: from, with: to), source: "micro.yaml")
                Issue.record("accepted \(to)")
            } catch let e as TrainerError {
                #expect(e.description.contains(key) && e.description.contains("micro.yaml"), "\(e)")
            }
        }
        let ok = try ParaRLConfig.parse(text.replacingOccurrences(of: "  steps: null\n  every", with: "  steps: [6, 2, 2]\n  every"), source: "micro.yaml")
        #expect(ok.rewardEval.grid(samplerSteps: ok.sampler.steps) == [2, 6])
        #expect(try ParaRLConfig.parse(text, source: "micro.yaml").rewardEval.grid(samplerSteps: 6) == Array(1...6))
    }

    @Test("paired summaries: means, standard errors over tasks, and the paired change against the first evaluation")
    func pairedStatistics() {
        // Two tasks × 2 rollouts × t ∈ {1, 2}; step 5 adds 0.1 on task a and 0.3 on task b everywhere.
        func rows(_ step: Int, _ shift: [String: Double]) -> [RewardEvalRolloutRecord] {
            var out: [RewardEvalRolloutRecord] = []
            for (task, base) in [("a", 0.2), ("b", 0.6)] {
                for i in 0..<2 { for t in 1...2 {
                    let r = base + Double(i) * 0.1 + Double(t) * 0.05 + (shift[task] ?? 0)
                    out.append(RewardEvalRolloutRecord(step: step, taskID: task, rollout: i, t: t, samplerSeed: UInt64(i), clipScore: 100 * r, reward: r))
                } }
            }
            return out
        }
        let all = rows(0, [:]) + rows(5, ["a": 0.1, "b": 0.3])
        let s = PairedReward.summaries(all)
        #expect(s.map(\.step) == [0, 5])
        // Task means at step 0: a = 0.2 + 0.05 + 0.075 = 0.325, b = 0.725; mean 0.525, se = |b − a| / 2 = 0.2.
        #expect(abs(s[0].rewardMean - 0.525) < 1e-12 && abs(s[0].rewardSE - 0.2) < 1e-12)
        #expect(s[0].change == 0 && s[0].changeSE == 0 && s[0].finalT == 2)
        // Paired differences 0.1 and 0.3: change 0.2, se = 0.1; at t = 2 the same.
        #expect(abs((s[1].change ?? 0) - 0.2) < 1e-12 && abs((s[1].changeSE ?? 0) - 0.1) < 1e-12)
        #expect(abs((s[1].changeFinal ?? 0) - 0.2) < 1e-12 && abs((s[1].changeFinalSE ?? 0) - 0.1) < 1e-12)
        let r = RewardEvaluationRows(step: 5, rollouts: rows(5, ["a": 0.1, "b": 0.3]))
        #expect(r.summaries.map(\.t) == [1, 2] && r.summaries.allSatisfy { $0.tasks == 2 && $0.rollouts == 2 })
    }
}
