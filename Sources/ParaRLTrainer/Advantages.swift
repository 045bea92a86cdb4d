// Rewards and per-step group advantages of ParaRL (DESIGN §3.5–3.6, Eq. 4 of MMaDA-Parallel): the sampled steps
// S ⊂ {1..T} of a group, R_{i,t} = ½(1 + clip((c − μ)/σ, −1, 1)) and
// A_{i,t} = (R_{i,t} − mean_j R_{j,t}) / (std_j R_{j,t} + 1e-4) with the population std over the G rollouts.
import Foundation
import ParaRLCLIP
import ParaRLCore

public enum SampledSteps {
    /// S ⊂ {1..T}, |S| = s, uniform without replacement, ascending (one draw per group; the G rollouts share it).
    /// The output-level objective uses S = {T} instead (`outputLevel`).
    public static func draw(_ s: Int, of steps: Int, rng: inout RandomStream) -> [Int] {
        rng.sample(s, of: steps).map { $0 + 1 }
    }

    /// S = {T}: the reward on the final output only.
    public static func outputLevel(steps: Int) -> [Int] { [steps] }
}

/// The advantages of one group at its sampled steps.
public struct GroupAdvantages: Sendable, Equatable {
    /// A[i][k]: rollout i at the k-th sampled step.
    public var advantages: [[Double]]
    /// Sampled steps (indices into S) whose G rewards were all equal, so A = 0 there.
    public var zeroStdSteps: [Int]

    /// The std floor of DESIGN §3.6.
    public static let stdEpsilon = 1e-4

    /// `rewards[i][k]` = R of rollout i at the k-th sampled step; every rollout has the same number of steps.
    /// Mean and population std (÷G) over the group per step; a step whose rewards are all exactly equal gets
    /// A = 0 (the formula gives 0 too, but the step is counted for `frac_zero_std`).
    public init(rewards: [[Double]]) {
        let g = rewards.count, s = rewards.first?.count ?? 0
        advantages = Array(repeating: Array(repeating: 0, count: s), count: g)
        zeroStdSteps = []
        guard g > 0 else { return }
        for k in 0..<s {
            let column = rewards.map { $0[k] }
            if column.allSatisfy({ $0 == column[0] }) {
                zeroStdSteps.append(k)
                continue
            }
            let mean = column.reduce(0, +) / Double(g)
            let variance = column.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(g)
            let denominator = variance.squareRoot() + Self.stdEpsilon
            for i in 0..<g { advantages[i][k] = (column[i] - mean) / denominator }
        }
    }
}

extension CLIPReward {
    /// Rewards of raw CLIP scores `scores[i][k]` (Eq. 4).
    public func rewards(scores: [[Double]]) -> [[Double]] { scores.map { $0.map { reward(score: $0) } } }
}
