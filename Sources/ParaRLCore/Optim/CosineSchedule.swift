// The learning-rate schedule: linear warm-up then cosine decay, exactly as transformers'
// get_cosine_schedule_with_warmup (num_cycles 0.5) and, with a floor, get_cosine_with_min_lr_schedule_with_warmup.

import Foundation

/// lr(step) = peakLR · λ(step) for the 0-based optimiser step (the value torch's LambdaLR holds while that
/// step runs):
///   λ = step / max(1, warmup)                                      while step < warmup (λ(0) = 0);
///     with `warmupCountsCurrentStep`: λ = (step + 1) / warmup, so the first update trains at peakLR/warmup;
///   λ = max(0, c·(1 − minLRRatio) + minLRRatio), c = 0.5·(1 + cos(π·progress)),
///   progress = (step − warmup) / max(1, total − warmup)            afterwards.
/// As in transformers, the floor applies only after warm-up, and past `totalSteps` the cosine is not clamped
/// (it rises again), so callers should not step beyond `totalSteps`.
public struct CosineSchedule: Sendable, Equatable {
    public var peakLR: Double
    public var warmupSteps: Int
    public var totalSteps: Int
    /// transformers' `min_lr_rate`: the decay ends at peakLR · minLRRatio (0 = decay to zero).
    public var minLRRatio: Double
    /// Warm-up counts the update being run (torch's LambdaLR with a (step + 1)/warmup lambda): no update trains at
    /// lr 0. false: transformers' exact form, whose first update has lr 0.
    public var warmupCountsCurrentStep: Bool

    public init(peakLR: Double, warmupSteps: Int, totalSteps: Int, minLRRatio: Double = 0, warmupCountsCurrentStep: Bool = false) {
        self.peakLR = peakLR
        self.warmupSteps = warmupSteps
        self.totalSteps = totalSteps
        self.minLRRatio = minLRRatio
        self.warmupCountsCurrentStep = warmupCountsCurrentStep
    }

    /// λ(step), the multiplier of `peakLR`.
    public func multiplier(step: Int) -> Double {
        if step < warmupSteps { return Double(warmupCountsCurrentStep ? step + 1 : step) / Double(max(1, warmupSteps)) }
        let progress = Double(step - warmupSteps) / Double(max(1, totalSteps - warmupSteps))
        let cosine = 0.5 * (1.0 + cos(Double.pi * 0.5 * 2.0 * progress))
        return max(0, cosine * (1 - minLRRatio) + minLRRatio)
    }

    public func lr(step: Int) -> Double { peakLR * multiplier(step: step) }
}
