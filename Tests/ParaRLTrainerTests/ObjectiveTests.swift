// The ParaRL equations in isolation (docs/design.md §3.5–3.7): the reward of Eq. 4 (μ/σ, clipping at both ends), group
// advantages (population std, zero-variance steps), the sampled steps S, the clipped surrogate and the k3 KL
// against finite differences (per token and through the whole policy), ratio = 1 at the first inner iteration,
// and the output-level (UniGRPO) objective against a hand computation.
import Foundation
import Testing
import ParaRLCLIP
import ParaRLCore
import ParaRLPolicy
@testable import ParaRLTrainer
import ParaRLWorld
import TestSupport

@Suite("ParaRL objective")
struct ObjectiveTests {
    @Test("R = ½(1 + clip((c − μ)/σ, −1, 1)): μ/σ normalisation and clipping at both ends")
    func rewardFormula() {
        let reward = CLIPReward(mu: 20, sigma: 4)
        let scores: [[Double]] = [[20, 22, 24, 30], [18, 16, 10, -5]]
        let r = reward.rewards(scores: scores)
        let expected: [[Double]] = [[0.5, 0.75, 1, 1], [0.25, 0, 0, 0]]
        for i in 0..<2 {
            for k in 0..<4 { #expect(abs(r[i][k] - expected[i][k]) < 1e-12, "c = \(scores[i][k])") }
        }
        // A different μ/σ moves every reward as the formula says.
        let shifted = CLIPReward(mu: 10, sigma: 20).rewards(scores: [[20]])
        #expect(abs(shifted[0][0] - 0.75) < 1e-12)
    }

    @Test("reward R = ½(1 + clip((c − μ)/σ, −1, 1)) and calibration statistics")
    func reward() {
        let r = CLIPReward(mu: 20, sigma: 4)
        #expect(r.reward(score: 20) == 0.5)
        #expect(r.reward(score: 22) == 0.75)
        #expect(r.reward(score: 30) == 1)
        #expect(r.reward(score: 0) == 0)
        let (mu, sigma) = CLIPCalibration.statistics([1, 3, 5, 7])
        #expect(mu == 4 && abs(sigma - 5.0.squareRoot()) < 1e-12)
        var rng = RandomStream(seed: 2)
        let pairs = CLIPCalibration.referencePairs(source: WorldTaskSource(seed: 0), trainTasks: 500, fraction: 0.01, rng: &rng)
        #expect(pairs.texts.count == 5 && pairs.images.count == 5)
    }

    @Test("advantages: per step over the group, population std + 1e-4, zero-variance steps give 0 and are counted")
    func advantages() {
        let rewards: [[Double]] = [[0.2, 0.5, 1.0], [0.6, 0.5, 0.0], [1.0, 0.5, 0.5]]
        let a = GroupAdvantages(rewards: rewards)
        #expect(a.zeroStdSteps == [1])
        for k in [0, 2] {
            let column = rewards.map { $0[k] }
            let mean = column.reduce(0, +) / 3
            let std = (column.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 3).squareRoot()  // ÷G, not ÷(G−1)
            for i in 0..<3 { #expect(abs(a.advantages[i][k] - (rewards[i][k] - mean) / (std + 1e-4)) < 1e-12) }
            #expect(abs(a.advantages.map { $0[k] }.reduce(0, +)) < 1e-12)
        }
        #expect(a.advantages.allSatisfy { $0[1] == 0 })
        // G = 2 with rewards 0 and 1: mean ½, population std ½.
        let two = GroupAdvantages(rewards: [[0], [1]])
        #expect(abs(two.advantages[1][0] - 0.5 / (0.5 + 1e-4)) < 1e-12 && two.zeroStdSteps.isEmpty)
    }

    @Test("S: s distinct steps of 1…T, ascending, each step equally likely; S = {T} for the output level")
    func sampledSteps() {
        var rng = RandomStream(seed: 3)
        var counts = [Int](repeating: 0, count: 9)
        let draws = 6000
        for _ in 0..<draws {
            let s = SampledSteps.draw(3, of: 8, rng: &rng)
            #expect(s.count == 3 && Set(s).count == 3 && s == s.sorted() && s.allSatisfy { (1...8).contains($0) })
            for t in s { counts[t] += 1 }
        }
        for t in 1...8 {
            let share = Double(counts[t]) / Double(draws)
            #expect(abs(share - 3.0 / 8) < 0.03, "step \(t) drawn with share \(share)")
        }
        #expect(SampledSteps.outputLevel(steps: 12) == [12])
        #expect(SampledSteps.draw(8, of: 8, rng: &rng) == Array(1...8))
    }

    @Test("per-token loss and dℓ/dl match finite differences in every clipping regime, with the k3 KL")
    func tokenGradient() {
        let objective = DiffusionGRPO(epsilon: 0.2, epsilonHigh: 0.28, beta: 0.05)
        // (l − old, advantage): inside the trust region, clipped above with A > 0, clipped below with A < 0,
        // outside but on the unclipped side (A < 0 and ρ > 1 + ε_high, A > 0 and ρ < 1 − ε).
        let cases: [(Double, Double, Bool, Bool)] = [(0.05, 1.3, false, false), (0.5, 0.8, false, true), (-0.6, -1.1, true, false),
                                                     (0.5, -0.9, false, false), (-0.6, 0.7, false, false), (0.0, 0.0, false, false)]
        for (delta, a, low, high) in cases {
            let old = -1.7, ref = -1.2, l = old + delta
            let o = objective.token(logProb: l, oldLogProb: old, referenceLogProb: ref, advantage: a)
            #expect(o.clippedLow == low && o.clippedHigh == high, "Δ \(delta) A \(a)")
            let h = 1e-6
            let f = { (x: Double) in objective.token(logProb: x, oldLogProb: old, referenceLogProb: ref, advantage: a).loss }
            let numeric = (f(l + h) - f(l - h)) / (2 * h)
            #expect(abs(numeric - o.dLogProb) < 1e-6, "Δ \(delta) A \(a): analytic \(o.dLogProb) numeric \(numeric)")
            // The value is the formula's.
            let rho = exp(delta), clipped = min(max(rho, 0.8), 1.28)
            let kl = exp(ref - l) - (ref - l) - 1
            #expect(abs(o.loss - (-(min(rho * a, clipped * a) - 0.05 * kl))) < 1e-12)
        }
        // k3 alone (A = 0): value ≥ 0, zero at l = r, gradient 1 − exp(r − l) scaled by β.
        let kl = DiffusionGRPO(epsilon: 0.2, beta: 1)
        #expect(kl.token(logProb: -1, oldLogProb: -1, referenceLogProb: -1, advantage: 0).loss == 0)
        for l in [-3.0, -1.0, -0.2] {
            let o = kl.token(logProb: l, oldLogProb: l, referenceLogProb: -1, advantage: 0)
            #expect(o.kl >= 0 && abs(o.dLogProb - (1 - exp(-1 - l))) < 1e-12)
        }
    }

    // MARK: Through the policy

    static let vocabulary = UnifiedVocabulary(textCount: 11, codebookSize: 8)
    static let layout = SequenceLayout(instructionLength: 3, textLength: 5, imageCodes: 4, filler: .eos)

    static func microPolicy(seed: UInt64) throws -> Policy {
        var config = PolicyArchitecture()
        config.dModel = 8; config.nLayers = 1; config.nHeads = 2; config.mlpHiddenSize = 12; config.maxSequenceLength = 64
        let policy = try Policy(config: config.modelConfig(vocabulary: vocabulary))
        var rng = RandomStream(seed: seed)
        policy.initialise(std: 0.5, rng: &rng)
        return policy
    }

    /// Three states: a final sequence with some output positions masked, scoring a few text and image tokens.
    static func states() throws -> [ScoredState] {
        let builder = try SequenceBuilder(layout: layout, vocabulary: vocabulary)
        let sample = PolicySample(id: "a", kind: .edit, instruction: [1, 2, 3], inputImage: [0, 1, 2, 3], reasoning: [5, 6, 7],
                                  outputImage: [3, 2, 1, 0])
        let full = try builder.build(sample)
        let outputs = layout.outputPositions
        var states: [ScoredState] = []
        for (k, scored) in [[0, 5, 6], [1, 2, 7], [3, 8]].enumerated() {
            var tokens = full.tokens
            let masked = outputs.enumerated().filter { j, _ in j % 3 == k || scored.contains(j) }.map(\.element)
            for p in masked { tokens[p] = Int32(vocabulary.special.mask) }
            let positions = scored.map { outputs[$0] }
            states.append(ScoredState(tokens: tokens, keyMask: full.keyMask, positions: positions, targets: positions.map { full.tokens[$0] },
                                      modalities: positions.map { layout.imageRegion.contains($0) ? .image : .text }))
        }
        return states
    }

    @Test("ratio is exactly 1 at the first inner iteration; the clipped surrogate + k3 KL gradient matches finite differences")
    func policyGradient() throws {
        let policy = try Self.microPolicy(seed: 11), reference = try Self.microPolicy(seed: 12)
        let states = try Self.states()
        let likelihood = try PolicyLikelihood(config: policy.config, length: Self.layout.length, batch: 2)
        let current = try likelihood.logProbs(states, policy: policy)
        let ref = try likelihood.logProbs(states, policy: reference)
        let objective = DiffusionGRPO(epsilon: 0.2, beta: 0.3)
        let advantages = [1.2, -0.7, 0.4]
        // First inner iteration: π_old = π_θ.
        let first = zip(states.indices, states).map { i, s in
            UpdateItem(state: s, oldLogProbs: current[i], referenceLogProbs: ref[i], advantage: advantages[i], weight: 1 / Double(s.targets.count))
        }
        policy.model.grads.zero()
        let (stats, _) = try PolicyUpdate.accumulate(first, policy: policy, likelihood: likelihood, objective: objective)
        #expect(stats.maxRatioDeviation == 0 && stats.clippedLow == 0 && stats.clippedHigh == 0 && stats.tokens == 8)
        // Later iteration: old log-probs shifted so some tokens are clipped, others not.
        let shifts: [Float] = [0.05, -0.4, 0.5, 0.1, -0.05, 0.6, -0.5, 0.02]
        var n = 0
        let later = first.map { item -> UpdateItem in
            var item = item
            item.oldLogProbs = item.oldLogProbs.map { x in defer { n += 1 }; return x - shifts[n] }
            return item
        }
        func loss() -> Double {
            let l = (try? likelihood.logProbs(states, policy: policy)) ?? []
            var total = 0.0
            for (i, item) in later.enumerated() {
                for k in item.oldLogProbs.indices {
                    total += item.weight * objective.token(logProb: Double(l[i][k]), oldLogProb: Double(item.oldLogProbs[k]),
                                                           referenceLogProb: Double(ref[i][k]), advantage: item.advantage).loss
                }
            }
            return total
        }
        policy.model.grads.zero()
        let (s2, _) = try PolicyUpdate.accumulate(later, policy: policy, likelihood: likelihood, objective: objective)
        #expect(s2.clippedLow + s2.clippedHigh > 0 && s2.clippedLow + s2.clippedHigh < 8)
        #expect(abs(s2.loss - loss()) < 1e-6)
        let checks: [(String, Range<Int>)] = [("model.transformer.ff_out.weight", 0..<(11 * 8)),
                                              ("model.transformer.ff_out.weight", (11 * 8)..<(19 * 8)),
                                              ("model.transformer.blocks.0.v_proj.weight", 0..<32),
                                              ("model.transformer.wte.weight", (26 * 8)..<(27 * 8))]
        for (name, range) in checks {
            let p = policy.model.params[name] + range.lowerBound
            let analytic = Array(UnsafeBufferPointer(start: policy.model.grads[name] + range.lowerBound, count: range.count))
            let base = Array(UnsafeBufferPointer(start: p, count: range.count))
            let numeric = numericalGradient(base, eps: 5e-3) { x in
                p.update(from: x, count: x.count)
                defer { p.update(from: base, count: base.count) }
                return loss()
            }
            let err = relativeError(analytic, numeric, floor: 1e-3)
            #expect(err < 3e-2, "\(name)[\(range)]: relative error \(err)")
        }
    }

    @Test("output level: p ~ U(0,1], mask ≥ 1 output token, loss = Σ (1/p)/(L·G·groups)·ℓ against a hand computation")
    func outputLevel() throws {
        let policy = try Self.microPolicy(seed: 21)
        let builder = try SequenceBuilder(layout: Self.layout, vocabulary: Self.vocabulary)
        let finals = try [
            PolicySample(id: "a", kind: .generate, instruction: [1], inputImage: nil, reasoning: [5, 6], outputImage: [3, 2, 1, 0]),
            PolicySample(id: "b", kind: .generate, instruction: [1], inputImage: nil, reasoning: [9], outputImage: [7, 7, 1, 0]),
        ].map { try builder.build($0) }
        var rng = RandomStream(seed: 5)
        let masked = finals.map { OutputLevelMasking.mask(final: $0, layout: Self.layout, vocabulary: Self.vocabulary, rng: &rng) }
        for (m, f) in zip(masked, finals) {
            #expect(m.ratio > 0 && m.ratio <= 1 && !m.state.positions.isEmpty)
            #expect(m.state.positions.allSatisfy { Self.layout.outputPositions.contains($0) && m.state.tokens[$0] == Int32(Self.vocabulary.special.mask) })
            #expect(m.state.targets == m.state.positions.map { f.tokens[$0] })
        }
        let likelihood = try PolicyLikelihood(config: policy.config, length: Self.layout.length, batch: 4)
        let l = try likelihood.logProbs(masked.map(\.state), policy: policy)
        let outputLength = Self.layout.outputPositions.count
        let advantages = [0.9, -0.9], beta = 0.1
        let objective = DiffusionGRPO(epsilon: 0.2, beta: beta)
        let ref = l.map { $0.map { $0 - 0.25 } }  // a reference 0.25 nats below: k3 = e^{-0.25} + 0.25 − 1
        let items = (0..<2).map { i in
            UpdateItem(state: masked[i].state, oldLogProbs: l[i], referenceLogProbs: ref[i], advantage: advantages[i],
                       weight: OutputLevelMasking.weight(ratio: masked[i].ratio, outputLength: outputLength, groupSize: 2, groups: 1))
        }
        policy.model.grads.zero()
        let (stats, _) = try PolicyUpdate.accumulate(items, policy: policy, likelihood: likelihood, objective: objective)
        // By hand: at the first inner iteration ρ = 1, so ℓ = −(A − β·k3) per masked token, each weighted (1/p)/(L·G).
        let k3 = exp(-0.25) + 0.25 - 1
        var expected = 0.0
        for i in 0..<2 {
            let n = Double(masked[i].state.positions.count)
            expected += n * (1 / Double(masked[i].ratio)) / Double(outputLength * 2) * -(advantages[i] - beta * k3)
        }
        #expect(abs(stats.loss - expected) < 1e-6, "loss \(stats.loss) vs hand \(expected)")
        #expect(abs(stats.kl - Double(masked[0].state.positions.count) / Double(masked[0].ratio) / Double(outputLength * 2) * k3
                    - Double(masked[1].state.positions.count) / Double(masked[1].ratio) / Double(outputLength * 2) * k3) < 1e-6)
    }
}
