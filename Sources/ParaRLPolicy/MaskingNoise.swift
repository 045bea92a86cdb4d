// The masked-diffusion forward process on a policy sequence (docs/design.md §3.3): each output token replaced by
// [MASK] with probability t. SFT draws t per sample; the ParaRL update draws it for the output-level baseline.
import Foundation
import ParaRLCore

/// A sequence with some output tokens replaced by `[MASK]`.
public struct NoisedSequence: Sendable, Equatable {
    public var tokens: [Int32]
    public var keyMask: [UInt8]
    /// Masked positions (0..<T, ascending) and the clean token at each.
    public var maskedPositions: [Int]
    public var targets: [Int32]
    /// The diffusion time (mask probability) of this sample.
    public var t: Float

    public init(tokens: [Int32], keyMask: [UInt8], maskedPositions: [Int], targets: [Int32], t: Float) {
        self.tokens = tokens; self.keyMask = keyMask; self.maskedPositions = maskedPositions; self.targets = targets; self.t = t
    }
}

public enum MaskingNoise {
    /// Masks each output position of `sequence` independently with probability `t` (one uniform draw per
    /// position, in position order); if none is masked, one output position drawn uniformly is masked.
    public static func apply(_ sequence: PolicySequence, layout: SequenceLayout, maskID: Int, t: Float,
                             rng: inout RandomStream) -> NoisedSequence {
        var tokens = sequence.tokens
        var masked: [Int] = []
        let outputs = layout.outputPositions
        for p in outputs where rng.uniform() < t { masked.append(p) }
        if masked.isEmpty { masked.append(outputs[rng.int(below: outputs.count)]) }
        let targets = masked.map { sequence.tokens[$0] }
        for p in masked { tokens[p] = Int32(maskID) }
        return NoisedSequence(tokens: tokens, keyMask: sequence.keyMask, maskedPositions: masked, targets: targets, t: t)
    }
}
