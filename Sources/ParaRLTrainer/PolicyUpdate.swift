// The update phase (docs/design.md §3.7): per scored state its advantage, aggregation weight, π_old and π_ref
// log-probabilities; one pass accumulates dℓ/dθ of Σ_k w_k·ℓ_k into the policy's gradients and the step's
// statistics. Trajectory objective: one state per (rollout i, t ∈ S), tokens τ_i(t) with the record's π_old.
// Output-level objective: one randomly masked final output per rollout (UniGRPO), weights 1/p.
import Foundation
import ParaRLCore
import ParaRLPolicy

/// One state of the update with what the objective needs for its tokens.
public struct UpdateItem: Sendable, Equatable {
    public var state: ScoredState
    /// log π_old per token (the trajectory record's); empty: π_old is π_θ itself, detached (the output level's first
    /// inner iteration, where the masked state was never seen by the sampler), so ρ = 1 in value.
    public var oldLogProbs: [Float]
    /// log π_ref per token (nil when β = 0).
    public var referenceLogProbs: [Float]?
    /// A_{i,t}, shared by the state's tokens.
    public var advantage: Double
    /// w: the aggregation weight of each token's loss (DiffusionGRPO.weight; ×1/p for the output level).
    public var weight: Double

    public init(state: ScoredState, oldLogProbs: [Float], referenceLogProbs: [Float]?, advantage: Double, weight: Double) {
        self.state = state; self.oldLogProbs = oldLogProbs; self.referenceLogProbs = referenceLogProbs
        self.advantage = advantage; self.weight = weight
    }
}

/// Sums over the scored tokens of one pass (rank-local; reduced over ranks before logging).
public struct UpdateStatistics: Sendable, Equatable {
    /// Σ w·ℓ, Σ w·(−surrogate), Σ w·k3: the objective's own weighting (what the gradient sees).
    public var loss = 0.0, policyLoss = 0.0, kl = 0.0
    public var tokens = 0.0, clippedLow = 0.0, clippedHigh = 0.0
    /// Σ k3 and Σ |ρ − 1| over the tokens, unweighted: per-token means that compare across s and objectives.
    public var klTokens = 0.0, ratioDeviationSum = 0.0
    /// max |ρ − 1| over the tokens (exactly 0 in value at the first inner iteration up to forward-pass rounding).
    public var maxRatioDeviation = 0.0
    public init() {}

    /// The additive fields as one buffer for an allreduce, and back.
    public var sums: [Double] { [loss, policyLoss, kl, tokens, clippedLow, clippedHigh, klTokens, ratioDeviationSum] }
    public init(sums s: [Double], maxRatioDeviation: Double) {
        loss = s[0]; policyLoss = s[1]; kl = s[2]; tokens = s[3]; clippedLow = s[4]; clippedHigh = s[5]
        klTokens = s[6]; ratioDeviationSum = s[7]
        self.maxRatioDeviation = maxRatioDeviation
    }

    /// The mean of the inner iterations' statistics (the max of their max |ρ − 1|): what a step logs.
    public static func mean(_ iterations: [UpdateStatistics]) -> UpdateStatistics {
        guard !iterations.isEmpty else { return UpdateStatistics() }
        let n = Double(iterations.count)
        var sums = [Double](repeating: 0, count: UpdateStatistics().sums.count)
        for it in iterations { for (k, v) in it.sums.enumerated() { sums[k] += v / n } }
        return UpdateStatistics(sums: sums, maxRatioDeviation: iterations.map(\.maxRatioDeviation).max() ?? 0)
    }
}

public enum PolicyUpdate {
    /// Accumulates d(Σ_k w_k ℓ_k)/dθ into `policy`'s gradients and returns the statistics and each state's
    /// current log-probabilities (π_θ before this update).
    public static func accumulate(_ items: [UpdateItem], policy: Policy, likelihood: PolicyLikelihood,
                                  objective: DiffusionGRPO) throws -> (UpdateStatistics, [[Float]]) {
        var stats = UpdateStatistics()
        for (i, item) in items.enumerated() {
            guard item.oldLogProbs.isEmpty || item.oldLogProbs.count == item.state.targets.count,
                  item.referenceLogProbs.map({ $0.count == item.state.targets.count }) ?? true else {
                throw TrainerError.invalidInput("update item \(i): old/reference log-probabilities do not match its tokens")
            }
        }
        let logProbs = try likelihood.run(items.map(\.state), policy: policy) { s, l in
            let item = items[s]
            return l.indices.map { k in
                let old = item.oldLogProbs.isEmpty ? l[k] : item.oldLogProbs[k]
                let o = objective.token(logProb: Double(l[k]), oldLogProb: Double(old),
                                        referenceLogProb: item.referenceLogProbs.map { Double($0[k]) }, advantage: item.advantage)
                stats.loss += item.weight * o.loss
                stats.policyLoss -= item.weight * o.surrogate
                stats.kl += item.weight * o.kl
                stats.klTokens += o.kl
                stats.ratioDeviationSum += abs(o.ratio - 1)
                stats.tokens += 1
                if o.clippedLow { stats.clippedLow += 1 }
                if o.clippedHigh { stats.clippedHigh += 1 }
                stats.maxRatioDeviation = max(stats.maxRatioDeviation, abs(o.ratio - 1))
                return Float(item.weight * o.dLogProb)
            }
        }
        return (stats, logProbs)
    }
}

/// The output-level baseline's likelihood (MMaDA's UniGRPO, docs/design.md §3.7): per response a mask ratio p ~ U(0, 1],
/// each output token masked with probability p (at least one), the masked tokens scored on that state with
/// weight 1/p (normalised by the output length, as the SFT objective).
public enum OutputLevelMasking {
    /// The masked final output of one rollout: `final` is the full sequence holding the rollout's final tokens.
    /// Draws p then the mask from `rng` (MaskingNoise.apply: one uniform per output position, in order).
    public static func mask(final: PolicySequence, layout: SequenceLayout, vocabulary: UnifiedVocabulary,
                            rng: inout RandomStream) -> (state: ScoredState, ratio: Float) {
        let p = rng.uniform(above: 0, through: 1)
        let noised = MaskingNoise.apply(final, layout: layout, maskID: vocabulary.special.mask, t: p, rng: &rng)
        let image = layout.imageRegion
        let state = ScoredState(tokens: noised.tokens, keyMask: noised.keyMask, positions: noised.maskedPositions,
                                targets: noised.targets,
                                modalities: noised.maskedPositions.map { image.contains($0) ? .image : .text })
        return (state, p)
    }

    /// w of one masked token: (1/p) / (output positions · G · groups).
    public static func weight(ratio p: Float, outputLength: Int, groupSize: Int, groups: Int) -> Double {
        1 / (Double(p) * Double(outputLength) * Double(groupSize) * Double(groups))
    }
}
