// The diffusion-GRPO objective of ParaRL (docs/design.md §3.7, Eq. 3 of MMaDA-Parallel), per token and aggregated:
//   J(θ) = E[ Σ_i Σ_{t∈S} 1/|τ_i(t)| Σ_{o∈τ_i(t)} min(ρ·A_{i,t}, clip(ρ, 1−ε, 1+ε_high)·A_{i,t}) ] − β·KL,
//   ρ = exp(l − l_old), l = log π_θ(o | state before t), KL per token = exp(r − l) − (r − l) − 1 (k3), r = log π_ref.
// The loss minimised is ℓ = −(surrogate − β·k3) per token, aggregated with the weights of `DiffusionGRPO.weight`
// (the KL is aggregated exactly as the surrogate, as TRL's GRPO does).
import Foundation

/// How per-token losses are combined (docs/design.md §3.7).
public enum LossAggregation: String, Codable, Sendable, CaseIterable {
    /// The paper: mean over the tokens of a sampled step, sum over the steps, mean over the G rollouts (and over
    /// the groups of the global batch).
    case paper
    /// Mean over every scored token of the global batch.
    case tokenMean = "token-mean"
}

/// One token's contribution: loss, its derivative with respect to l = log π_θ, and what the step logs.
public struct TokenObjective: Sendable, Equatable {
    public var loss: Double
    /// dℓ/dl.
    public var dLogProb: Double
    /// The surrogate min(ρA, clip(ρ)A) and the k3 KL of this token.
    public var surrogate: Double
    public var kl: Double
    public var ratio: Double
    /// The clipped branch is the minimum (its gradient is zero): ρ < 1−ε with A < 0, or ρ > 1+ε_high with A > 0.
    public var clippedLow: Bool
    public var clippedHigh: Bool
}

public struct DiffusionGRPO: Sendable, Equatable {
    public var epsilon: Double
    public var epsilonHigh: Double
    public var beta: Double

    public init(epsilon: Double, epsilonHigh: Double? = nil, beta: Double) {
        self.epsilon = epsilon; self.epsilonHigh = epsilonHigh ?? epsilon; self.beta = beta
    }

    /// ℓ(l) = −(min(ρA, clip(ρ, 1−ε, 1+ε_high)A) − β·(exp(r − l) − (r − l) − 1)), ρ = exp(l − old).
    /// `reference` nil (β = 0) drops the KL term. At a tie of the two branches the unclipped gradient is taken.
    public func token(logProb l: Double, oldLogProb old: Double, referenceLogProb reference: Double?,
                      advantage a: Double) -> TokenObjective {
        let ratio = Foundation.exp(l - old)
        let clippedRatio = min(max(ratio, 1 - epsilon), 1 + epsilonHigh)
        let unclipped = ratio * a, clipped = clippedRatio * a
        let clippedLow = a < 0 && ratio < 1 - epsilon
        let clippedHigh = a > 0 && ratio > 1 + epsilonHigh
        let surrogate = min(unclipped, clipped)
        let dSurrogate = clippedLow || clippedHigh ? 0 : a * ratio  // d(ρA)/dl = ρA
        var kl = 0.0, dKL = 0.0
        if let r = reference, beta != 0 {
            let e = Foundation.exp(r - l)
            kl = e - (r - l) - 1
            dKL = 1 - e  // d/dl [exp(r − l) − (r − l) − 1]
        }
        return TokenObjective(loss: -(surrogate - beta * kl), dLogProb: -(dSurrogate - beta * dKL), surrogate: surrogate,
                              kl: kl, ratio: ratio, clippedLow: clippedLow, clippedHigh: clippedHigh)
    }

    /// The aggregation weight of one token of rollout i at one sampled step: paper form 1/(|τ_i(t)|·G·groups),
    /// token-mean 1/(tokens of the global batch).
    public static func weight(_ aggregation: LossAggregation, stepTokens: Int, groupSize: Int, groups: Int,
                              batchTokens: Int) -> Double {
        switch aggregation {
        case .paper: return 1 / (Double(stepTokens) * Double(groupSize) * Double(groups))
        case .tokenMean: return 1 / Double(batchTokens)
        }
    }
}
