// The options of the parallel sampler (docs/design.md §3.4): every choice of MMaDA-Parallel's dual-scheduler decoding as
// a YAML key with a documented default (the paper's values scaled to the built-in world; see rl-configs/sample-tiny.yaml).
import Foundation
import ParaRLPolicy
import ParaRLRunKit

/// Options of `ParallelSampler`. Paper values (App. E: 256 text tokens in blocks of 64 over 128 steps, image CFG 3.5,
/// text CFG 0) are scaled to the world's sizes (96 text positions, 64 image codes).
///
/// A file gives any subset of the keys; the others keep these defaults; unknown keys are errors naming the key and
/// file. Inside a larger config (the trainer's `sampler:` section) decode it as a nested section whose allowed keys
/// are `SamplerConfig.keyNames` (with `StrictYAML`'s `YAMLKeys(…, sections: ["sampler": YAMLKeys(SamplerConfig.keyNames)])`)
/// over the default `SamplerConfig()`, then call `validate(source:)`.
public struct SamplerConfig: Codable, Sendable, Equatable {
    /// T, the steps of the shared axis (one forward pass each, plus the unconditional passes on image steps).
    /// Default 24: the world's 96 text positions at 4 per step (the paper reveals 2 per step; halved for CPU cost).
    public var steps = 24
    /// B, the text block length of semi-autoregressive decoding (paper: 64 of 256 → 4 blocks; here 32 of 96 → 3 blocks).
    /// The T text steps are split over the blocks by LLaDA's rule (n // blocks each, remainder to the first blocks).
    public var textBlockLength = 32
    /// Temperature of the Gumbel-max text candidates; 0 = greedy. Default 0.7, the released inference code's.
    public var textTemperature: Float = 0.7
    /// Temperature of the image candidates and of the confidence noise; 0 = greedy, no noise. Default 1 (MaskGIT, MMaDA).
    public var imageTemperature: Float = 1.0
    /// K_img, MaskGIT steps of the image. Default 12: every second step of the default T for `even` placement.
    public var imageSteps = 12
    /// g_img, the image-condition guidance weight (paper: 3.5). 0 skips the unconditional-image pass.
    public var imageGuidance: Float = 3.5
    /// g_txt, the text-condition guidance weight (paper: 0). 0 skips the unconditional-text pass.
    public var textGuidance: Float = 0
    /// Where the image steps sit among the steps the decoding order gives the image.
    public var imagePlacement = ImageStepPlacement.even
    /// `parallel` (paper default) | `sequential` | `semi-parallel` (paper Tables 3/10).
    public var decoding = DecodingOrder.parallel
    /// Partial text at a step: `drop` masks (the design's default) or a `placeholder` word at each mask.
    public var partialText = PartialTextMode.drop
    /// The placeholder word (must be in the text vocabulary); `<unk>` always is.
    public var partialTextPlaceholder = "<unk>"
    /// Partial image at a step: step candidates at masked positions (the design's default) or a `neutral` code.
    public var partialImage = PartialImageMode.candidates
    /// The neutral code (also shown where no image step has sampled a candidate yet).
    public var partialImageNeutralCode = 0

    enum CodingKeys: String, CodingKey, CaseIterable {
        case steps, textBlockLength = "text_block_length", textTemperature = "text_temperature"
        case imageTemperature = "image_temperature", imageSteps = "image_steps", imageGuidance = "image_guidance"
        case textGuidance = "text_guidance", imagePlacement = "image_placement", decoding
        case partialText = "partial_text", partialTextPlaceholder = "partial_text_placeholder"
        case partialImage = "partial_image", partialImageNeutralCode = "partial_image_neutral_code"
    }

    /// The YAML keys, for nesting this config as a section of another.
    public static var keyNames: [String] { CodingKeys.allCases.map(\.rawValue) }

    public init() {}

    /// Absent keys keep their defaults, so a partial mapping decodes even without `StrictYAML`'s merging.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = SamplerConfig()
        steps = try c.decodeIfPresent(Int.self, forKey: .steps) ?? d.steps
        textBlockLength = try c.decodeIfPresent(Int.self, forKey: .textBlockLength) ?? d.textBlockLength
        textTemperature = try c.decodeIfPresent(Float.self, forKey: .textTemperature) ?? d.textTemperature
        imageTemperature = try c.decodeIfPresent(Float.self, forKey: .imageTemperature) ?? d.imageTemperature
        imageSteps = try c.decodeIfPresent(Int.self, forKey: .imageSteps) ?? d.imageSteps
        imageGuidance = try c.decodeIfPresent(Float.self, forKey: .imageGuidance) ?? d.imageGuidance
        textGuidance = try c.decodeIfPresent(Float.self, forKey: .textGuidance) ?? d.textGuidance
        imagePlacement = try c.decodeIfPresent(ImageStepPlacement.self, forKey: .imagePlacement) ?? d.imagePlacement
        decoding = try c.decodeIfPresent(DecodingOrder.self, forKey: .decoding) ?? d.decoding
        partialText = try c.decodeIfPresent(PartialTextMode.self, forKey: .partialText) ?? d.partialText
        partialTextPlaceholder = try c.decodeIfPresent(String.self, forKey: .partialTextPlaceholder) ?? d.partialTextPlaceholder
        partialImage = try c.decodeIfPresent(PartialImageMode.self, forKey: .partialImage) ?? d.partialImage
        partialImageNeutralCode = try c.decodeIfPresent(Int.self, forKey: .partialImageNeutralCode) ?? d.partialImageNeutralCode
    }

    /// Parses a sampler YAML over the defaults and validates it; `source` names the file in errors.
    public static func load(yaml: String, source: String) throws -> SamplerConfig {
        let c = try StrictYAML.decode(SamplerConfig.self, from: yaml, defaults: SamplerConfig(), allowed: keyNames, source: source)
        try c.validate(source: source)
        return c
    }

    public static func load(_ url: URL) throws -> SamplerConfig {
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw ParaRLError.io(path: url.path, reason: "cannot read the sampler config")
        }
        return try load(yaml: String(decoding: data, as: UTF8.self), source: url.path)
    }

    /// The resolved config as YAML (every key, declaration order).
    public func yaml() -> String {
        var lines: [String] = []
        func add(_ k: CodingKeys, _ v: String) { lines.append("\(k.rawValue): \(v)") }
        add(.steps, "\(steps)"); add(.textBlockLength, "\(textBlockLength)"); add(.textTemperature, "\(textTemperature)")
        add(.imageTemperature, "\(imageTemperature)"); add(.imageSteps, "\(imageSteps)"); add(.imageGuidance, "\(imageGuidance)")
        add(.textGuidance, "\(textGuidance)"); add(.imagePlacement, imagePlacement.rawValue); add(.decoding, decoding.rawValue)
        add(.partialText, partialText.rawValue); add(.partialTextPlaceholder, Self.quoted(partialTextPlaceholder))
        add(.partialImage, partialImage.rawValue); add(.partialImageNeutralCode, "\(partialImageNeutralCode)")
        return lines.joined(separator: "\n") + "\n"
    }

    static func quoted(_ s: String) -> String {
        "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }

    /// Checks the values that do not depend on the sequence layout (the rest is checked by `SamplingSchedule`).
    public func validate(source: String) throws {
        func check(_ ok: Bool, _ key: CodingKeys, _ reason: String) throws {
            if !ok { throw ParaRLError.invalidConfig(file: source, key: key.rawValue, reason: reason) }
        }
        try check(steps >= 1, .steps, "must be at least 1, got \(steps)")
        try check(decoding == .parallel || steps >= 2, .steps, "\(decoding.rawValue) decoding needs at least 2 steps")
        try check(textBlockLength >= 1, .textBlockLength, "must be at least 1, got \(textBlockLength)")
        try check(textTemperature >= 0 && textTemperature.isFinite, .textTemperature, "must be finite and ≥ 0")
        try check(imageTemperature >= 0 && imageTemperature.isFinite, .imageTemperature, "must be finite and ≥ 0")
        try check(imageSteps >= 1, .imageSteps, "must be at least 1, got \(imageSteps)")
        try check(imageGuidance.isFinite, .imageGuidance, "must be finite")
        try check(textGuidance.isFinite, .textGuidance, "must be finite")
        try check(!partialTextPlaceholder.isEmpty, .partialTextPlaceholder, "must not be empty")
        try check(partialImageNeutralCode >= 0, .partialImageNeutralCode, "must be ≥ 0")
        let available = imageStepRange().count
        let limit = imagePlacement == .even ? available : available - available / 4
        try check(imageSteps <= limit, .imageSteps,
                  "\(imageSteps) image steps do not fit the \(limit) steps \(imagePlacement.rawValue) placement has under \(decoding.rawValue) decoding with \(steps) steps")
    }

    /// Steps (1-based) that carry text: all T, or the first T/2 under `sequential`.
    public func textStepRange() -> ClosedRange<Int> { 1...(decoding == .sequential ? steps / 2 : steps) }

    /// Steps (1-based) that may carry image steps: all T under `parallel`, the last T − T/2 otherwise.
    public func imageStepRange() -> ClosedRange<Int> { (decoding == .parallel ? 1 : steps / 2 + 1)...steps }
}
