// The shared vocabulary of parallel sampling (docs/design.md §3.4): the sampler's options, the exact trajectory record of
// one rollout, and the partial outputs the reward sees. The trainer, the rollout log and the tools build on these.
import Foundation

/// How text and image share the T steps (paper Tables 3/10).
public enum DecodingOrder: String, Codable, Sendable, CaseIterable {
    /// Both modalities on every step (the paper's default).
    case parallel
    /// All text first (steps 1…T/2), then the image conditioned on it (steps T/2+1…T).
    case sequential
    /// Text alone for the first half of the steps, then text and image together.
    case semiParallel = "semi-parallel"
}

/// Where the K_img image steps sit on the shared axis.
public enum ImageStepPlacement: String, Codable, Sendable, CaseIterable {
    /// Spread evenly over the steps the decoding order gives the image.
    case even
    /// `linspace(T/4, T−1, K_img)` as in the released inference code.
    case lateStart = "late-start"
}

/// What the partial text at step k keeps of still-masked positions.
public enum PartialTextMode: String, Codable, Sendable, CaseIterable {
    /// Revealed tokens in position order, masks dropped (the design's default).
    case drop
    /// A placeholder word at every still-masked position.
    case placeholder
}

/// What the partial image at step k shows at still-masked positions.
public enum PartialImageMode: String, Codable, Sendable, CaseIterable {
    /// The candidates sampled at step k (MaskGIT's current estimate; the design's default).
    case candidates
    /// A fixed neutral code.
    case neutral
}

/// The exact record of one rollout (docs/design.md §3.4): an O(length) encoding of the whole trajectory.
/// Index `j` of every array is output position `j` of `SequenceLayout.outputPositions` (image region, then text region).
/// The state before step k: every output position with `revealStep < k` holds its final token, all others `[MASK]`.
public struct TrajectoryRecord: Sendable, Equatable, Codable {
    /// The sampler seed of this rollout (replaying with it reproduces the rollout).
    public var seed: UInt64
    /// T, the number of steps on the shared axis.
    public var steps: Int
    /// Final token ids (unified vocabulary) at the output positions.
    public var tokens: [Int32]
    /// The step 1…T at which each output position was revealed.
    public var revealStep: [Int32]
    /// log π(token | state before its step): the policy's unguided, temperature-1 distribution over the position's
    /// modality slice, evaluated when the token was revealed (this is π_old of the trainer; no extra forward pass).
    public var logProb: [Float]

    public init(seed: UInt64, steps: Int, tokens: [Int32], revealStep: [Int32], logProb: [Float]) {
        self.seed = seed; self.steps = steps; self.tokens = tokens; self.revealStep = revealStep; self.logProb = logProb
    }
}

/// What the reward sees at step k (docs/design.md §3.4 "Partial outputs").
public struct PartialOutput: Sendable, Equatable, Codable {
    /// The step k (1…T).
    public var step: Int
    /// Text ids (the text tokenizer's ids) revealed up to and including step k, in position order; with
    /// `PartialTextMode.placeholder`, still-masked positions hold the placeholder id. `<|eos|>` ends the text.
    public var textIDs: [Int]
    /// N image codes (0..<K): revealed codes, and at still-masked positions the step-k candidates (or the neutral code).
    public var imageCodes: [Int]

    public init(step: Int, textIDs: [Int], imageCodes: [Int]) {
        self.step = step; self.textIDs = textIDs; self.imageCodes = imageCodes
    }
}

/// One sampled trajectory: its record, the partial outputs at the requested steps, and the final outputs.
public struct Rollout: Sendable, Equatable {
    public var record: TrajectoryRecord
    /// Partial outputs at the steps the caller asked to record, in step order.
    public var partials: [PartialOutput]
    /// The final reasoning as text ids (up to the first `<|eos|>`).
    public var finalTextIDs: [Int]
    /// The final N image codes.
    public var finalImageCodes: [Int]

    public init(record: TrajectoryRecord, partials: [PartialOutput], finalTextIDs: [Int], finalImageCodes: [Int]) {
        self.record = record; self.partials = partials; self.finalTextIDs = finalTextIDs; self.finalImageCodes = finalImageCodes
    }
}
