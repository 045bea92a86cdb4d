// The two schedulers on the shared axis (docs/design.md §3.4): text reveal counts by LLaDA's `get_num_transfer_tokens`
// inside semi-autoregressive blocks, image reveal counts by MaskGIT's cosine schedule, and the placement of the
// K_img image steps on the T steps for each decoding order. Everything here is deterministic in the config and sizes.
import Foundation
import ParaRLPolicy
import ParaRLRunKit

/// What one step of the shared axis does.
public struct ScheduledStep: Sendable, Equatable {
    /// The step, 1…T.
    public var step: Int
    /// The current text block (0-based) when this is a text step.
    public var textBlock: Int?
    /// Text positions (indices into the text region) revealed at this step.
    public var textReveal: Int
    /// The image step k (0-based, of K_img) when this is an image step.
    public var imageStep: Int?
    /// Image codes revealed at this step.
    public var imageReveal: Int
    /// Image codes still masked after this step (MaskGIT's `mask_len`).
    public var imageKeptMasked: Int
}

public struct SamplingSchedule: Sendable, Equatable {
    public let config: SamplerConfig
    /// L_text and N.
    public let textLength: Int
    public let imageCodes: Int
    /// Step by step, index s − 1 for step s.
    public let steps: [ScheduledStep]
    /// Text blocks as ranges of text-region indices.
    public let textBlocks: [Range<Int>]

    /// LLaDA `get_num_transfer_tokens`: `n` tokens over `steps` steps, `n // steps` each, the remainder to the first steps.
    public static func transferCounts(_ n: Int, steps: Int) -> [Int] {
        precondition(steps >= 1 && n >= 0, "transferCounts needs steps ≥ 1 and n ≥ 0")
        return (0..<steps).map { n / steps + ($0 < n % steps ? 1 : 0) }
    }

    /// MaskGIT cosine: codes of N still masked after image step k of K (0-based), given `unknown` masked before it:
    /// `max(1, min(unknown − 1, floor(N·cos(π/2·(k+1)/K))))`, and 0 at the last step (it reveals all).
    public static func keptMasked(imageStep k: Int, of K: Int, codes n: Int, unknown: Int) -> Int {
        if k == K - 1 || unknown == 0 { return 0 }
        let target = Int((Double(n) * cos(Double.pi / 2 * Double(k + 1) / Double(K))).rounded(.down))
        return max(1, min(unknown - 1, target))
    }

    /// The 0-based offsets, within a range of `m` steps, of `k` image steps. `even`: `floor((i+1)·m/k) − 1`, so the last
    /// image step is the range's last step; `late-start`: `round(linspace(m//4, m−1, k))` (half to even, as torch).
    public static func imageOffsets(_ k: Int, within m: Int, placement: ImageStepPlacement) -> [Int] {
        switch placement {
        case .even:
            return (0..<k).map { ($0 + 1) * m / k - 1 }
        case .lateStart:
            let start = Double(m / 4), end = Double(m - 1)
            if k == 1 { return [m - 1] }
            return (0..<k).map { Int((start + Double($0) * (end - start) / Double(k - 1)).rounded(.toNearestOrEven)) }
        }
    }

    public init(config: SamplerConfig, textLength: Int, imageCodes: Int, source: String = "(sampler config)") throws {
        try config.validate(source: source)
        guard textLength >= 1, imageCodes >= 1 else {
            throw SamplingError.invalidInput("the layout needs text and image positions (text \(textLength), image \(imageCodes))")
        }
        self.config = config
        self.textLength = textLength
        self.imageCodes = imageCodes
        let t = config.steps, b = config.textBlockLength
        textBlocks = stride(from: 0, to: textLength, by: b).map { $0..<min(textLength, $0 + b) }
        let textSteps = config.textStepRange()
        guard textSteps.count >= textBlocks.count else {
            throw ParaRLError.invalidConfig(file: source, key: "steps",
                                            reason: "\(textSteps.count) text steps cannot decode \(textBlocks.count) text blocks of \(b) (text length \(textLength)); raise steps or text_block_length")
        }
        var plan = (1...t).map { ScheduledStep(step: $0, textBlock: nil, textReveal: 0, imageStep: nil, imageReveal: 0, imageKeptMasked: 0) }
        var s = textSteps.lowerBound
        for (block, stepsInBlock) in Self.transferCounts(textSteps.count, steps: textBlocks.count).enumerated() {
            for reveal in Self.transferCounts(textBlocks[block].count, steps: stepsInBlock) {
                plan[s - 1].textBlock = block
                plan[s - 1].textReveal = reveal
                s += 1
            }
        }
        let imageRange = config.imageStepRange()
        var unknown = imageCodes
        for (k, offset) in Self.imageOffsets(config.imageSteps, within: imageRange.count, placement: config.imagePlacement).enumerated() {
            let step = imageRange.lowerBound + offset
            let kept = Self.keptMasked(imageStep: k, of: config.imageSteps, codes: imageCodes, unknown: unknown)
            plan[step - 1].imageStep = k
            plan[step - 1].imageReveal = unknown - kept
            plan[step - 1].imageKeptMasked = kept
            unknown = kept
        }
        steps = plan
    }

    public subscript(step: Int) -> ScheduledStep { steps[step - 1] }

    /// The image steps (1-based) in order.
    public var imageStepNumbers: [Int] { steps.filter { $0.imageStep != nil }.map(\.step) }
}
